import { describe, expect, it } from 'vitest';
import { channelKindOf } from './kinds.js';
import { isMask, maskConfig, mergeConfig, scrubSecrets, secretValues } from './secrets.js';

const slack = channelKindOf('slack');
const email = channelKindOf('email');
if (slack === undefined || email === undefined) throw new Error('kinds missing');

describe('channel secrets', () => {
  const hook = 'https://hooks.slack.com/services/T000AAAA/B000BBBB/XXXXXXXXXXXXXXXXXXXXXXXX';

  it('masks URL secrets down to scheme and host, and other secrets entirely', () => {
    expect(maskConfig(slack, { webhook_url: hook })).toEqual({ webhook_url: 'https://hooks.slack.com/…/****' });
    expect(maskConfig(email, { host: 'smtp.example.com', user: 'u', password: 'p4ss', to: ['a@b.co'] })).toEqual({
      host: 'smtp.example.com',
      user: 'u',
      password: '****',
      to: ['a@b.co'],
    });
    expect(maskConfig(email, { host: 'smtp.example.com' })).toEqual({ host: 'smtp.example.com' });
  });

  it('keeps a stored secret when a change sends its mask back, replaces it when a new value comes, removes it on null', () => {
    const stored = { host: 'smtp.example.com', user: 'u', password: 'old-password' };
    expect(mergeConfig(email, stored, { password: '****', host: 'mail.example.com' })).toEqual({ ...stored, host: 'mail.example.com' });
    expect(mergeConfig(email, stored, { password: 'new-password' })).toEqual({ ...stored, password: 'new-password' });
    expect(mergeConfig(email, stored, { password: null, user: null })).toEqual({ host: 'smtp.example.com' });
    expect(mergeConfig(slack, { webhook_url: hook }, { webhook_url: 'https://hooks.slack.com/…/****' })).toEqual({ webhook_url: hook });
    expect(isMask('https://hooks.slack.com/…/****')).toBe(true);
    expect(isMask(hook)).toBe(false);
  });

  it('scrubs secrets and the token parts of secret URLs out of text', () => {
    const secrets = secretValues(slack, { webhook_url: hook });
    const text = scrubSecrets(`POST ${hook} failed; path /services/T000AAAA/B000BBBB/XXXXXXXXXXXXXXXXXXXXXXXX; token XXXXXXXXXXXXXXXXXXXXXXXX`, secrets);
    expect(text).not.toContain('XXXXXXXXXXXXXXXXXXXXXXXX');
    expect(text).toBe('POST **** failed; path ****; token ****');
  });
});
