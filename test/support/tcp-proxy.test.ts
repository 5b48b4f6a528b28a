import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type TcpProxy, startTcpProxy } from './tcp-proxy.js';

/** The outage proxy the crash tests and the soak rely on: a cut or a close must end every pair, in any state. */
describe('tcp proxy', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  /** A target that says one line and ends its side at once, so the pair is half closed through the proxy. */
  async function halfClosedPair(): Promise<{ proxy: TcpProxy; client: net.Socket }> {
    const target = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.on('error', () => undefined);
      socket.end('bye\n');
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => target.close());
    const proxy = await startTcpProxy('127.0.0.1', (target.address() as net.AddressInfo).port);
    const client = net.connect({ host: '127.0.0.1', port: proxy.port, allowHalfOpen: true });
    client.on('error', () => undefined);
    cleanups.push(() => client.destroy());
    client.resume();
    await new Promise((resolve) => client.once('end', resolve));
    return { proxy, client };
  }

  // libuv refuses to reset a socket whose writing side is shutting down, and Node then never closes it: a cut that
  // resets such a socket hangs for ever (the soak's teardown did).
  it('cuts a half-closed pair, lets new connections through once unblocked, and closes', async () => {
    const { proxy } = await halfClosedPair();
    await proxy.block();
    proxy.unblock();
    const again = net.connect({ host: '127.0.0.1', port: proxy.port });
    again.on('error', () => undefined);
    cleanups.push(() => again.destroy());
    const line = await new Promise<string>((resolve) => again.once('data', (chunk) => resolve(String(chunk))));
    expect(line).toBe('bye\n');
    const closed = new Promise((resolve) => again.once('close', resolve));
    await proxy.close();
    await closed;
  }, 5_000);
});
