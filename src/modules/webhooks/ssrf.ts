/**
 * Endpoint URLs must not reach our own network: loopback, private, link-local (cloud
 * metadata at 169.254.169.254), multicast, unspecified and their IPv6 forms, including the
 * IPv6 addresses that carry an IPv4 address inside (IPv4-mapped, IPv4-compatible, NAT64,
 * 6to4) and deprecated site-local, are refused unless WEBHOOK_ALLOW_PRIVATE_TARGETS. A URL
 * with control characters is refused (the URL parser would silently drop tabs and line
 * breaks). Checked when an endpoint is saved and again at every attempt, which connects to
 * the address that was checked (no DNS rebinding).
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

const forbidden = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  forbidden.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  // unspecified, loopback, IPv4-compatible (deprecated: ::a.b.c.d), unique local, link-local,
  // site-local (deprecated), multicast, NAT64 (well-known and local-use), discard-only, Teredo, documentation
  ['::', 128],
  ['::1', 128],
  ['::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 32],
  ['2001:db8::', 32],
] as const) {
  forbidden.addSubnet(network, prefix, 'ipv6');
}

/** The eight 16-bit groups of an IPv6 address (a dotted IPv4 tail counts as two). */
function hextets(address: string): number[] {
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  const text = dotted
    ? address.slice(0, dotted.index) + [((+dotted[1]! << 8) | +dotted[2]!).toString(16), ((+dotted[3]! << 8) | +dotted[4]!).toString(16)].join(':')
    : address;
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const parts = (part: string | undefined) => (part ? part.split(':').map((group) => parseInt(group, 16)) : []);
  const before = parts(head);
  const after = parts(tail);
  return tail === undefined ? before : [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after];
}

/** The IPv4 address an IPv6 address carries: IPv4-mapped (::ffff:a.b.c.d) or 6to4 (2002:aabb:ccdd::/48). */
function embeddedIpv4(address: string): string | null {
  const groups = hextets(address);
  const v4 = (high: number, low: number) => `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) return v4(groups[6]!, groups[7]!);
  if (groups[0] === 0x2002) return v4(groups[1]!, groups[2]!);
  return null;
}

export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 4) return forbidden.check(address, 'ipv4');
  const inner = embeddedIpv4(address);
  return (inner !== null && forbidden.check(inner, 'ipv4')) || forbidden.check(address, 'ipv6');
}

export interface Target {
  url: URL;
  /** The checked address the request must connect to. */
  address: string;
  family: 4 | 6;
}

/** Resolves and checks an endpoint URL; the error message says what is wrong with it. */
export async function resolveTarget(raw: string, allowPrivate: boolean): Promise<Target> {
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw new Error('the URL must not contain control characters (tabs, line breaks)');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`the URL must be http or https, not ${url.protocol}`);
  if (url.username || url.password) throw new Error('the URL must not carry credentials; use custom headers');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let resolved: { address: string; family: number }[];
  try {
    resolved = isIP(host) ? [{ address: host, family: isIP(host) }] : await lookup(host, { all: true });
  } catch {
    throw new Error(`the host ${host} does not resolve`);
  }
  const blocked = resolved.find((entry) => isForbiddenAddress(entry.address));
  if (blocked && !allowPrivate) {
    throw new Error(`the host ${host} resolves to ${blocked.address}, a private, loopback or link-local address`);
  }
  const chosen = resolved[0]!;
  return { url, address: chosen.address, family: chosen.family === 6 ? 6 : 4 };
}
