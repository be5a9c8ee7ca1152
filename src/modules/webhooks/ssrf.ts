/**
 * Endpoint URLs must not reach our own network: loopback, private, link-local (cloud
 * metadata at 169.254.169.254), multicast, unspecified and their IPv6 and IPv4-mapped forms
 * are refused unless WEBHOOK_ALLOW_PRIVATE_TARGETS. Checked when an endpoint is saved and
 * again at every attempt, which connects to the address that was checked (no DNS rebinding).
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

const forbidden = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) forbidden.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96]] as const) {
  forbidden.addSubnet(network, prefix, 'ipv6');
}

export function isForbiddenAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return forbidden.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return forbidden.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export interface Target {
  url: URL;
  /** The checked address the request must connect to. */
  address: string;
  family: 4 | 6;
}

/** Resolves and checks an endpoint URL; the error message says what is wrong with it. */
export async function resolveTarget(raw: string, allowPrivate: boolean): Promise<Target> {
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
