import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import { afterEach } from 'vitest';

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

/** A certificate made for a test, and its key (PEM). */
export interface TestCertificate {
  cert: string;
  key: string;
}

/**
 * A self-signed certificate for 127.0.0.1 and localhost that expires at `notAfter`. It is its own CA, so a client
 * that is told to trust it (`tls.ca`) verifies it fully, host name included.
 */
export async function makeCertificate(notAfter: Date): Promise<TestCertificate> {
  const pems = await generate([{ name: 'commonName', value: 'vigil test target' }], {
    notBeforeDate: new Date(Date.now() - 3_600_000),
    notAfterDate: notAfter,
    keyType: 'ec',
    curve: 'P-256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** Starts a server on `host` (default 127.0.0.1) on a free port; with `tls`, an https server with that certificate. */
export async function startServer(handler: TestHandler, host = '127.0.0.1', tls?: TestCertificate): Promise<LocalServer> {
  let current = handler;
  const requests: RecordedRequest[] = [];
  let connections = 0;
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      current(req, res, body);
    });
  };
  const server: Server = tls === undefined ? createServer(listener) : createHttpsServer({ cert: tls.cert, key: tls.key }, listener);
  server.on(tls === undefined ? 'connection' : 'secureConnection', () => {
    connections++;
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `${tls === undefined ? 'http' : 'https'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
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

/**
 * A `serve` for one test file: it starts a server as {@link startServer} does, and every server it started is closed
 * after each test. Call it at the top level of the file (it registers an `afterEach` hook).
 */
export function useLocalServers(): (...args: Parameters<typeof startServer>) => Promise<LocalServer> {
  const servers: LocalServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return async (...args) => {
    const server = await startServer(...args);
    servers.push(server);
    return server;
  };
}

/** What `promise` rejects with; throws when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
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
