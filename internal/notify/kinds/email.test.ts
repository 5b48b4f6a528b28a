import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { describe, expect, it } from 'vitest';
import { downBody, newItemsBody, testSender, useTestSender } from '../test-fixtures.js';
import { emailConfigSchema } from './email.js';

/**
 * Email through a real SMTP server in the test process (smtp-server), each message parsed with mailparser: the
 * subject, the recipients, the items in both bodies, authentication, refusals, TLS that cannot be had, and
 * denied hosts.
 */

interface Received {
  from: string | undefined;
  to: string[];
  mail: ParsedMail;
  user: string | undefined;
}

interface LocalSmtp {
  port: number;
  received: Received[];
  connections: number;
  close(): Promise<void>;
}

async function startSmtp(options: Partial<SMTPServerOptions> & { refuse?: { code: number; message: string } } = {}): Promise<LocalSmtp> {
  const received: Received[] = [];
  const state = { connections: 0 };
  const { refuse, ...rest } = options;
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    allowInsecureAuth: true,
    logger: false,
    onConnect: (_session, callback) => {
      state.connections += 1;
      callback();
    },
    onAuth: (auth, _session, callback) => {
      if (auth.username === 'alerts' && auth.password === 'smtp-pass-123') callback(null, { user: auth.username });
      else callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onData: (stream, session, callback) => {
      simpleParser(stream)
        .then((mail) => {
          if (refuse !== undefined) {
            callback(Object.assign(new Error(refuse.message), { responseCode: refuse.code }));
            return;
          }
          received.push({
            from: session.envelope.mailFrom === false ? undefined : session.envelope.mailFrom.address,
            to: session.envelope.rcptTo.map((r) => r.address),
            mail,
            user: typeof session.user === 'string' ? session.user : undefined,
          });
          callback();
        })
        .catch(callback);
    },
    ...rest,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  return {
    port,
    received,
    get connections() {
      return state.connections;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('email channel', () => {
  const { sender, track } = useTestSender();

  async function smtp(options: Parameters<typeof startSmtp>[0] = {}): Promise<LocalSmtp> {
    const server = await startSmtp(options);
    track(server);
    return server;
  }

  const config = (port: number, extra: Record<string, unknown> = {}) => ({
    host: '127.0.0.1',
    port,
    tls: 'none',
    from: 'Vigil <alerts@vigil.example.com>',
    to: ['ops@example.com', 'oncall@example.com'],
    ...extra,
  });

  it('sends new items with a readable subject, both bodies listing each item with its fields and the link', async () => {
    const server = await smtp();
    const delivery = await sender.send({ id: 6, name: 'ops mail', kind: 'email', config: config(server.port) }, newItemsBody(12));
    expect(delivery.ok).toBe(true);
    expect(delivery.status_code).toBe(250);
    expect(delivery.response).toMatch(/^250 /);

    const [got] = server.received;
    expect(got?.from).toBe('alerts@vigil.example.com');
    expect(got?.to).toEqual(['ops@example.com', 'oncall@example.com']);
    const mail = got?.mail as ParsedMail;
    expect(mail.subject).toBe('[Vigil] 12 new items: shop feed');
    expect(mail.from?.value).toEqual([{ address: 'alerts@vigil.example.com', name: 'Vigil' }]);
    const to = Array.isArray(mail.to) ? mail.to.flatMap((a) => a.value) : (mail.to?.value ?? []);
    expect(to.map((a) => a.address)).toEqual(['ops@example.com', 'oncall@example.com']);

    const text = mail.text ?? '';
    expect(text).toContain('* Lamp <b>&</b> "shade"\n  https://shop.example/items/1\n  id: sku-1\n  price: 10\n  in_stock: true');
    for (let i = 2; i <= 10; i += 1) expect(text).toContain(`* Lamp ${i}\n  https://shop.example/items/${i}`);
    expect(text).not.toContain('Lamp 11');
    expect(text).toContain('… and 2 more.');
    expect(text).toContain('Open in Vigil: https://vigil.example.com/ui/tasks/42');

    const html = typeof mail.html === 'string' ? mail.html : '';
    expect(html).toContain('<a href="https://shop.example/items/1"><strong>Lamp &lt;b&gt;&amp;&lt;/b&gt; &quot;shade&quot;</strong></a>');
    expect(html).toContain('<span style="color:#57606a">price:</span> 10');
    expect(html).toContain('href="https://vigil.example.com/ui/tasks/42"');
    expect(html).not.toContain('<b>&</b>');
  });

  it('puts the reason for a down in the subject and logs in with user and password', async () => {
    const server = await smtp();
    const delivery = await sender.send(
      { id: 6, name: 'ops mail', kind: 'email', config: config(server.port, { user: 'alerts', password: 'smtp-pass-123', subject_prefix: '[shop]' }) },
      downBody(),
    );
    expect(delivery).toMatchObject({ ok: true, status_code: 250, error: null });
    const [got] = server.received;
    expect(got?.user).toBe('alerts');
    expect(got?.mail.subject).toBe('[shop] Down: shop <api> — status 500 not in 200-399');
    expect(got?.mail.text).toContain('Reason: status 500 not in 200-399');
    expect(got?.mail.text).toContain('Target: https://shop.example/api/health');
  });

  it('reports a refused message with the server’s code and words', async () => {
    const server = await smtp({ refuse: { code: 552, message: 'Mailbox full' } });
    const delivery = await sender.send({ id: 6, name: 'ops mail', kind: 'email', config: config(server.port) }, downBody());
    expect(delivery.ok).toBe(false);
    expect(delivery.status_code).toBe(552);
    expect(delivery.error).toMatch(/^the SMTP server answered 552 Mailbox full/);
  });

  it('reports a wrong password without repeating it', async () => {
    const server = await smtp();
    const delivery = await sender.send(
      { id: 6, name: 'ops mail', kind: 'email', config: config(server.port, { user: 'alerts', password: 'wrong-password-42' }) },
      downBody(),
    );
    expect(delivery.ok).toBe(false);
    expect(delivery.status_code).toBe(535);
    expect(JSON.stringify(delivery)).not.toContain('wrong-password-42');
    expect(server.received).toHaveLength(0);
  });

  it('never sends in the clear when STARTTLS is required and the server cannot do it', async () => {
    const server = await smtp();
    const delivery = await sender.send({ id: 6, name: 'ops mail', kind: 'email', config: config(server.port, { tls: 'starttls' }) }, downBody());
    expect(delivery.ok).toBe(false);
    expect(delivery.error).toMatch(/STARTTLS/i);
    expect(server.received).toHaveLength(0);
  });

  it('upgrades with STARTTLS, checking the certificate unless told not to', async () => {
    // smtp-server offers STARTTLS with a self-signed certificate of its own.
    const server = await smtp({ disabledCommands: [] });
    const checked = await sender.send({ id: 6, name: 'ops mail', kind: 'email', config: config(server.port, { tls: 'starttls' }) }, downBody());
    expect(checked.ok).toBe(false);
    expect(checked.error).toMatch(/certificate/i);
    expect(server.received).toHaveLength(0);
    const trusting = await sender.send({ id: 6, name: 'ops mail', kind: 'email', config: config(server.port, { tls: 'starttls', tls_verify: false }) }, downBody());
    expect(trusting).toMatchObject({ ok: true, status_code: 250 });
    expect(server.received).toHaveLength(1);
  });

  it('refuses an SMTP host whose address is denied, before connecting', async () => {
    const server = await smtp();
    const denying = testSender({ deny: ['127.0.0.0/8'] });
    const delivery = await denying.sender.send({ id: 6, name: 'ops mail', kind: 'email', config: config(server.port, { host: 'localhost' }) }, downBody());
    await denying.policy.close();
    expect(delivery.ok).toBe(false);
    expect(delivery.error).toMatch(/^address 127\.0\.0\.1 of localhost is denied by APP_HTTP_DENY_CIDRS/);
    expect(server.connections).toBe(0);
  });

  it('names bad config fields', () => {
    const result = emailConfigSchema.safeParse({ host: 'smtp example', from: 'nobody', to: [], password: 'x' });
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((i) => i.path.join('.')) ?? [];
    expect(paths).toEqual(expect.arrayContaining(['host', 'to']));
    const refined = emailConfigSchema.safeParse({ host: 'smtp.example.com', from: 'nobody', to: ['a@b.co'], password: 'x' });
    expect(refined.error?.issues.map((i) => i.path.join('.'))).toEqual(['user', 'from']);
  });
});
