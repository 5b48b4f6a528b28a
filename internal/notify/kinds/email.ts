import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createTransport } from 'nodemailer';
import { z } from 'zod';
import { isOutboundError } from '../../handlers/outbound/index.js';
import { type Delivery, defineChannelKind } from '../channel-kind.js';
import type { AlertMessage, MessageSeverity } from '../message.js';

/**
 * `email`: a message over SMTP, sent with nodemailer. The subject is one readable line (`[Vigil] Down: shop feed —
 * status 500 not in 200-399`); the body comes as plain text and as HTML, both listing the facts, the new items
 * with their fields, and the link back to the task.
 *
 * The SMTP host goes through the same outbound policy as every HTTP request: it is resolved once, every address is
 * checked against `APP_HTTP_DENY_CIDRS`, and the connection goes to the checked address (with the host name kept
 * for TLS), so a name that resolves to a denied address is refused before any packet is sent.
 */
export const emailConfigSchema = z
  .strictObject({
    host: z
      .string()
      .min(1, { error: 'must not be empty' })
      .max(253, { error: 'must be at most 253 characters' })
      .regex(/^[A-Za-z0-9.-]+$|^\[?[0-9A-Fa-f:.]+\]?$/, { error: 'must be a host name or an IP address' })
      .meta({ description: 'The SMTP server.', examples: ['smtp.example.com'] }),
    port: z
      .int({ error: 'must be a port number' })
      .min(1, { error: 'must be from 1 to 65535' })
      .max(65535, { error: 'must be from 1 to 65535' })
      .optional()
      .meta({ description: 'Default 465 with `tls: "implicit"`, else 587.' }),
    tls: z
      .enum(['starttls', 'implicit', 'none'], { error: 'must be starttls, implicit or none' })
      .default('starttls')
      .meta({
        description:
          '`starttls` (default): upgrade with STARTTLS and refuse a server that cannot; `implicit`: TLS from the first byte (port 465); `none`: plain text (a local relay only).',
      }),
    tls_verify: z.boolean({ error: 'must be true or false' }).default(true).meta({
      description: 'Check the server’s certificate (default true). false accepts a self-signed one: only for a server you run.',
    }),
    user: z.string().min(1, { error: 'must not be empty' }).max(500).optional().meta({ description: 'SMTP login.' }),
    password: z.string().min(1, { error: 'must not be empty' }).max(500).optional().meta({ description: 'SMTP password. A secret.' }),
    from: z.string().min(3).max(320).meta({ description: 'The sender, `alerts@example.com` or `Vigil <alerts@example.com>`.' }),
    to: z
      .array(z.email({ error: 'must be an email address' }))
      .min(1, { error: 'must list at least one address' })
      .max(50, { error: 'must list at most 50 addresses' })
      .meta({ description: 'Recipients.' }),
    subject_prefix: z.string().max(50).default('[Vigil]').meta({ description: 'Starts every subject. Default `[Vigil]`.' }),
  })
  .superRefine((config, ctx) => {
    if (config.password !== undefined && config.user === undefined) {
      ctx.addIssue({ code: 'custom', path: ['user'], message: 'is required with a password' });
    }
    if (!/^[^<>\s@]+@[^<>\s@]+$|^[^<>]*<[^<>\s@]+@[^<>\s@]+>$/.test(config.from)) {
      ctx.addIssue({ code: 'custom', path: ['from'], message: 'must be an address, or a name and <address>' });
    }
  })
  .meta({ id: 'EmailChannelConfig' });

export type EmailConfig = z.output<typeof emailConfigSchema>;

export interface EmailMessage {
  subject: string;
  text: string;
  html: string;
}

/** Subjects longer than this are cut: mail clients show far less. */
const SUBJECT_CHARS = 180;

const COLOURS: Record<MessageSeverity, string> = { critical: '#c62828', warning: '#b26a00', ok: '#2e7d32', info: '#1d4ed8' };

export function formatEmail(message: AlertMessage, config: Pick<EmailConfig, 'subject_prefix'>): EmailMessage {
  const reason = message.event === 'down' ? message.facts.find((f) => f.label === 'Reason')?.value : undefined;
  const subjectLine = `${config.subject_prefix} ${message.headline}${reason === undefined ? '' : ` — ${reason}`}`.trim();
  const subject = subjectLine.length > SUBJECT_CHARS ? `${subjectLine.slice(0, SUBJECT_CHARS - 1)}…` : subjectLine;
  return { subject, text: textBody(message), html: htmlBody(message) };
}

function textBody(message: AlertMessage): string {
  const lines = [message.headline, '', message.summary];
  if (message.facts.length > 0) {
    lines.push('');
    for (const f of message.facts) lines.push(`${f.label}: ${f.value}`);
  }
  if (message.items.length > 0) {
    lines.push('', `New items (${message.itemCount}):`);
    for (const item of message.items) {
      lines.push('', `* ${item.title}`);
      if (item.url !== null) lines.push(`  ${item.url}`);
      for (const f of item.fields) lines.push(`  ${f.name}: ${f.value}`);
    }
    const more = message.itemCount - message.items.length;
    if (more > 0) lines.push('', `… and ${more} more.`);
  }
  if (message.link !== null) lines.push('', `Open in Vigil: ${message.link}`);
  lines.push('', '-- ', `Sent by Vigil at ${message.at.toISOString()}.`);
  return `${lines.join('\n')}\n`;
}

/** HTML escaping for text and attribute values. */
export function htmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function htmlBody(message: AlertMessage): string {
  const colour = COLOURS[message.severity];
  const parts: string[] = [
    `<div style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#1f2328;max-width:640px">`,
    `<h2 style="margin:0 0 8px;color:${colour}">${htmlEscape(message.headline)}</h2>`,
    `<p style="margin:0 0 16px">${htmlEscape(message.summary)}</p>`,
  ];
  if (message.facts.length > 0) {
    parts.push('<table style="border-collapse:collapse;margin:0 0 16px">');
    for (const f of message.facts) {
      const value = /^https?:\/\/\S+$/.test(f.value) ? `<a href="${htmlEscape(f.value)}">${htmlEscape(f.value)}</a>` : htmlEscape(f.value);
      parts.push(`<tr><th style="text-align:left;padding:2px 12px 2px 0;color:#57606a;font-weight:600">${htmlEscape(f.label)}</th><td style="padding:2px 0">${value}</td></tr>`);
    }
    parts.push('</table>');
  }
  if (message.items.length > 0) {
    parts.push(`<h3 style="margin:0 0 8px">New items (${message.itemCount})</h3>`, '<ul style="margin:0 0 16px;padding-left:20px">');
    for (const item of message.items) {
      const title = item.url === null ? `<strong>${htmlEscape(item.title)}</strong>` : `<a href="${htmlEscape(item.url)}"><strong>${htmlEscape(item.title)}</strong></a>`;
      const fields =
        item.fields.length === 0
          ? ''
          : `<br>${item.fields.map((f) => `<span style="color:#57606a">${htmlEscape(f.name)}:</span> ${htmlEscape(f.value)}`).join(' · ')}`;
      parts.push(`<li style="margin:0 0 6px">${title}${fields}</li>`);
    }
    parts.push('</ul>');
    const more = message.itemCount - message.items.length;
    if (more > 0) parts.push(`<p style="margin:0 0 16px">… and ${more} more.</p>`);
  }
  if (message.link !== null) {
    parts.push(
      `<p style="margin:0 0 16px"><a href="${htmlEscape(message.link)}" style="display:inline-block;padding:8px 14px;background:${colour};color:#fff;text-decoration:none;border-radius:6px">Open in Vigil</a></p>`,
    );
  }
  parts.push(`<p style="margin:16px 0 0;color:#8c959f;font-size:12px">Sent by Vigil at ${htmlEscape(message.at.toISOString())}.</p></div>`);
  return parts.join('\n');
}

/** The first number of an SMTP reply (`250 2.0.0 Ok: queued`), or null. */
function replyCode(response: string | undefined): number | null {
  const m = /^(\d{3})/.exec(response ?? '');
  return m === null ? null : Number(m[1]);
}

export const emailKind = defineChannelKind({
  kind: 'email',
  description: 'An email over SMTP, as plain text and HTML.',
  configSchema: emailConfigSchema,
  secrets: { password: 'opaque' },
  format: (message, _body, config) => formatEmail(message, config),
  async deliver(payload, config, ctx): Promise<Delivery> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const timeout = AbortSignal.timeout(ctx.timeoutMs);
    const signal = AbortSignal.any([ctx.signal, timeout]);
    const host = config.host.replace(/^\[(.*)\]$/, '$1');
    let address: string;
    try {
      const addresses = await ctx.policy.allowedAddresses(host);
      address = (addresses[0] as { address: string }).address;
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const error = isOutboundError(err) ? err.message : `could not resolve ${host}: ${err instanceof Error ? err.message : String(err)}`;
      return { ok: false, status_code: null, response: null, error, duration_ms: elapsed() };
    }
    const transport = createTransport({
      host: address,
      port: config.port ?? (config.tls === 'implicit' ? 465 : 587),
      secure: config.tls === 'implicit',
      requireTLS: config.tls === 'starttls',
      ignoreTLS: config.tls === 'none',
      // TLS checks the certificate against the name the operator wrote, not the address connected to.
      ...(isIP(host) === 0 ? { servername: host } : {}),
      tls: { rejectUnauthorized: config.tls_verify, ...(isIP(host) === 0 ? { servername: host } : {}) },
      ...(config.user === undefined ? {} : { auth: { user: config.user, pass: config.password ?? '' } }),
      connectionTimeout: ctx.timeoutMs,
      greetingTimeout: ctx.timeoutMs,
      socketTimeout: ctx.timeoutMs,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
    try {
      const info = await transport.sendMail({
        from: config.from,
        to: config.to,
        subject: payload.subject,
        text: payload.text,
        html: payload.html,
        signal,
      });
      const rejected = info.rejected.length;
      return {
        ok: rejected === 0,
        status_code: replyCode(info.response),
        response: info.response.slice(0, 1000),
        error: rejected === 0 ? null : `the server refused ${rejected} of ${config.to.length} recipients`,
        duration_ms: elapsed(),
      };
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (timeout.aborted) return { ok: false, status_code: null, response: null, error: `timed out after ${ctx.timeoutMs} ms`, duration_ms: elapsed() };
      const e = err as { message?: string; response?: string; responseCode?: number; code?: string; command?: string };
      const code = typeof e.responseCode === 'number' ? e.responseCode : null;
      // Only the verb of the command: its arguments may carry addresses or credentials.
      const verb = /^[A-Z]{4,8}/.exec(e.command ?? '')?.[0];
      const error =
        code !== null && e.response !== undefined
          ? `the SMTP server answered ${e.response.replace(/\s+/g, ' ').slice(0, 300)}${verb === undefined ? '' : ` (to ${verb})`}`
          : `${e.code === undefined ? '' : `${e.code}: `}${e.message ?? String(err)}`;
      return { ok: false, status_code: code, response: e.response?.slice(0, 1000) ?? null, error, duration_ms: elapsed() };
    } finally {
      transport.close();
    }
  },
});
