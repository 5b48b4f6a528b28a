import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Local HTTP servers for the outbound and `http` handler tests. Test-only: nothing in production imports this file.
 * It lives beside the tests of two folders, rather than in `test/support`, because those are unit tests of this
 * layer and never need the integration harness.
 */

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type TestHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

export interface LocalServer {
  /** `http://host:port` without a trailing slash. */
  origin: string;
  host: string;
  port: number;
  /** Every request received, in order, with its body. */
  requests: RecordedRequest[];
  /** TCP connections accepted, whether or not a request followed. */
  connections(): number;
  /** Swaps the handler, for targets that change between runs. */
  setHandler(handler: TestHandler): void;
  close(): Promise<void>;
}

/** Starts a server on `host` (default 127.0.0.1) on a free port. */
export async function startServer(handler: TestHandler, host = '127.0.0.1'): Promise<LocalServer> {
  let current = handler;
  const requests: RecordedRequest[] = [];
  let connections = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      current(req, res, body);
    });
  });
  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    origin,
    host,
    port,
    requests,
    connections: () => connections,
    setHandler: (next) => {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        // Slow handlers leave sockets open on purpose; do not wait for them.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 that nothing listens on: bound, read, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Answers with `status` and a text or JSON body. */
export function reply(res: ServerResponse, status: number, body: string | object = '', headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', ...headers });
  res.end(text);
}
