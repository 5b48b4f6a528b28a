import { describe, expect, it } from 'vitest';
import { DEFAULT_DENY_CIDRS, InvalidCidrError, mappedIPv4, OutboundPolicy, parseCidr } from './outbound-policy.js';

describe('OutboundPolicy', () => {
  const policy = new OutboundPolicy();

  it('denies the link-local and metadata ranges by default', () => {
    expect(policy.cidrs).toEqual(DEFAULT_DENY_CIDRS);
    expect(policy.deniedBy('169.254.169.254')).toBe('169.254.0.0/16');
    expect(policy.deniedBy('169.254.0.1')).toBe('169.254.0.0/16');
    expect(policy.deniedBy('fe80::1')).toBe('fe80::/10');
    expect(policy.deniedBy('febf:ffff::1')).toBe('fe80::/10');
    expect(policy.deniedBy('fd00:ec2::254')).toBe('fd00:ec2::254/128');
  });

  it('allows everything else, private and loopback ranges included', () => {
    for (const address of ['8.8.8.8', '127.0.0.1', '10.1.2.3', '169.255.0.1', '::1', 'fec0::1', 'fd00:ec2::253', '2001:db8::1']) {
      expect(policy.isDenied(address), address).toBe(false);
    }
  });

  it('checks an IPv4-mapped IPv6 address as its IPv4 address, in every spelling', () => {
    for (const address of ['::ffff:169.254.169.254', '::ffff:a9fe:a9fe', '0:0:0:0:0:ffff:a9fe:a9fe', '::FFFF:169.254.1.2']) {
      expect(policy.deniedBy(address), address).toBe('169.254.0.0/16');
    }
    expect(policy.isDenied('::ffff:8.8.8.8')).toBe(false);
    const loopback = new OutboundPolicy(['127.0.0.0/8']);
    expect(loopback.isDenied('::ffff:127.0.0.1')).toBe(true);
    void loopback.close();
  });

  it('ignores an IPv6 zone id and fails closed on something that is not an address', () => {
    expect(policy.isDenied('fe80::1%eth0')).toBe(true);
    expect(policy.isDenied('not-an-ip')).toBe(true);
    expect(policy.isDenied('')).toBe(true);
  });

  it('accepts bare addresses as single hosts', () => {
    const single = new OutboundPolicy(['10.0.0.5', '2001:db8::5']);
    expect(single.cidrs).toEqual(['10.0.0.5/32', '2001:db8::5/128']);
    expect(single.isDenied('10.0.0.5')).toBe(true);
    expect(single.isDenied('10.0.0.6')).toBe(false);
    expect(single.isDenied('2001:db8::5')).toBe(true);
    void single.close();
  });

  it('refuses invalid CIDRs at construction, naming every bad entry', () => {
    const build = () => new OutboundPolicy(['10.0.0.0/8', '10.0.0.0/33', 'nope/8', 'fe80::/129', '', '1.2.3.4/x']);
    expect(build).toThrow(InvalidCidrError);
    try {
      build();
    } catch (err) {
      const e = err as InvalidCidrError;
      expect(e.entries.map((x) => x.entry)).toEqual(['10.0.0.0/33', 'nope/8', 'fe80::/129', '', '1.2.3.4/x']);
      expect(e.message).toContain('invalid APP_HTTP_DENY_CIDRS');
      expect(e.message).toContain('"10.0.0.0/33" (prefix length must be a whole number from 0 to 32)');
      expect(e.message).toContain('"nope/8" ("nope" is not an IPv4 or IPv6 address)');
      expect(e.message).toContain('0 to 128');
    }
  });

  it('allows everything with an empty deny list', () => {
    const open = new OutboundPolicy([]);
    expect(open.isDenied('169.254.169.254')).toBe(false);
    void open.close();
  });

  it('closes idempotently', async () => {
    const p = new OutboundPolicy();
    await p.close();
    await expect(p.close()).resolves.toBeUndefined();
  });
});

describe('parseCidr', () => {
  it('parses IPv4 and IPv6 with and without a prefix', () => {
    expect(parseCidr(' 169.254.0.0/16 ')).toEqual({ address: '169.254.0.0', prefix: 16, family: 'ipv4' });
    expect(parseCidr('fe80::/10')).toEqual({ address: 'fe80::', prefix: 10, family: 'ipv6' });
    expect(parseCidr('::1')).toEqual({ address: '::1', prefix: 128, family: 'ipv6' });
    expect(parseCidr('0.0.0.0/0')).toEqual({ address: '0.0.0.0', prefix: 0, family: 'ipv4' });
    expect(parseCidr('1.2.3.4/-1')).toHaveProperty('reason');
    expect(parseCidr('1.2.3.4/')).toHaveProperty('reason');
  });
});

describe('mappedIPv4', () => {
  it('extracts the IPv4 address of a mapped address and nothing else', () => {
    expect(mappedIPv4('::ffff:a9fe:a9fe')).toBe('169.254.169.254');
    expect(mappedIPv4('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(mappedIPv4('::1')).toBeNull();
    expect(mappedIPv4('fe80::1')).toBeNull();
    expect(mappedIPv4('garbage')).toBeNull();
  });
});
