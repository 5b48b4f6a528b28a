/**
 * The local target of the checks benchmark: a plain node:http server answering every request with 200 and a small
 * fixed body, keep-alive on. Configured by PORT; prints `READY <port>`.
 *
 * Usage: node --import tsx bench/http-target.ts
 */
import { createServer } from 'node:http';

const body = Buffer.from('{"status":"ok","service":"bench-target"}\n');
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? '0'), '127.0.0.1', () => process.stdout.write(`READY ${process.env.PORT}\n`));
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
