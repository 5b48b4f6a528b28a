import net from 'node:net';

/** A TCP proxy a test can cut, to simulate a database or Redis outage without stopping the shared server. */
export interface TcpProxy {
  /** The local port to connect to instead of the target's. */
  readonly port: number;
  /**
   * Starts an outage: live connections are reset and new ones are reset as soon as they arrive, as a crashed
   * server or a dropped link would. Resolves once every live connection is closed.
   */
  block(): Promise<void>;
  /** Ends the outage: new connections reach the target again. Connections reset during the outage stay closed. */
  unblock(): void;
  /** Resets every connection and stops listening. */
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 (a free port) that forwards every connection to `targetHost:targetPort`. */
export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const live = new Set<net.Socket>();
  let blocked = false;

  const track = (socket: net.Socket) => {
    live.add(socket);
    socket.once('close', () => live.delete(socket));
  };

  const server = net.createServer((client) => {
    if (blocked) {
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ host: targetHost, port: targetPort });
    track(client);
    track(upstream);
    // Either side ending or failing ends the pair, so that the client sees what it would see from the real server.
    const end = () => {
      cut(client);
      cut(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('tcp proxy: no port');

  const cutAll = async () => {
    const closed = [...live].filter((socket) => !socket.destroyed).map((socket) => onceClosed(socket));
    for (const socket of live) cut(socket);
    await Promise.all(closed);
  };

  return {
    port: address.port,
    async block() {
      blocked = true;
      await cutAll();
    },
    unblock() {
      blocked = false;
    },
    async close() {
      blocked = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await cutAll();
      await stopped;
    },
  };
}

/**
 * Resets a connected socket (RST, like a dead peer) and simply destroys one that is still connecting or whose
 * writing side has ended (its peer closed first, and `pipe` ended it): libuv refuses to reset a socket that is
 * shutting down, and Node then never closes it, so waiting for its 'close' would hang.
 */
function cut(socket: net.Socket): void {
  if (socket.destroyed) return;
  socket.on('error', () => undefined);
  if (socket.connecting || socket.pending || socket.writableEnded) socket.destroy();
  else socket.resetAndDestroy();
}

function onceClosed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => socket.once('close', () => resolve()));
}
