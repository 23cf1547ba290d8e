/**
 * `internal_networks` and address locality (NETFLOW.md 4.2), with the semantics of Filebeat's
 * `conditions.NetworkContains` plus its always-internal set, on Go `net.IP` rules:
 *
 * - an IPv4-mapped IPv6 address is its IPv4 address: it matches IPv4 CIDRs and IPv4 named ranges,
 *   and never an IPv6 CIDR (not even `::/0`);
 * - an IPv6 CIDR whose masked network is IPv4-mapped (`::ffff:10.0.0.0/104`) is the IPv4 CIDR
 *   `10.0.0.0/8`, as Go's `IPNet.Contains` reduces it;
 * - multicast scopes come from the scope nibble (`ffX2::` is link-local, `ffX1::` interface-local
 *   for any flags X), as Go's `IsLinkLocalMulticast` / `IsInterfaceLocalMulticast` test them.
 *
 * Config is parsed once into bit masks and 32-bit words so that `isInternal`, which runs twice
 * per flow, allocates nothing.
 */
import { FlowshipError } from '../util/errors.ts';
import { parseIp } from './ip.ts';

// Properties of an address; named ranges are sets of these bits.
const LOOPBACK = 1 << 0;
const UNSPECIFIED = 1 << 1;
const BROADCAST = 1 << 2;
const LINK_LOCAL_UNICAST = 1 << 3;
const LINK_LOCAL_MULTICAST = 1 << 4;
const INTERFACE_LOCAL_MULTICAST = 1 << 5;
const MULTICAST = 1 << 6;
const PRIVATE = 1 << 7;
const GLOBAL_UNICAST = 1 << 8;
const PUBLIC = 1 << 9;

/** Filebeat's `isLocal`: internal whatever `internal_networks` says. */
const ALWAYS_INTERNAL =
  LOOPBACK | UNSPECIFIED | BROADCAST | LINK_LOCAL_UNICAST | LINK_LOCAL_MULTICAST | INTERFACE_LOCAL_MULTICAST;
/** libbeat's `public` is "not private and not always-internal". */
const NOT_PUBLIC = ALWAYS_INTERNAL | PRIVATE;

/** A Map, not an object literal, so that "constructor" or "__proto__" are not range names. */
const NAMED_RANGES: ReadonlyMap<string, number> = new Map([
  ['private', PRIVATE],
  ['public', PUBLIC],
  ['loopback', LOOPBACK],
  ['unicast', GLOBAL_UNICAST],
  ['global_unicast', GLOBAL_UNICAST],
  ['link_local_unicast', LINK_LOCAL_UNICAST],
  ['link_local_multicast', LINK_LOCAL_MULTICAST],
  ['interface_local_multicast', INTERFACE_LOCAL_MULTICAST],
  ['multicast', MULTICAST],
  ['unspecified', UNSPECIFIED],
]);

const EXPECTED = `expected a CIDR such as 192.168.0.0/16 or fd00::/8, or one of: ${[...NAMED_RANGES.keys()].join(', ')}`;

/** Parsed `internal_networks`. Build with {@link parseNetworks}; treat as opaque. */
export interface Networks {
  /** The entries as configured, for messages. */
  readonly entries: readonly string[];
  /** Union of the property bits of the named ranges configured. */
  readonly named: number;
  /** IPv4 CIDRs: (network, mask) pairs of unsigned 32-bit words, the network already masked. */
  readonly v4: Uint32Array;
  /** IPv6 CIDRs: 4 network words then 4 mask words per CIDR, the network already masked. */
  readonly v6: Uint32Array;
}

type Entry =
  | { kind: 'named'; bit: number }
  | { kind: 'v4'; network: number; mask: number }
  | { kind: 'v6'; network: Uint32Array; mask: Uint32Array };

/** Mask of `prefix` leading one bits within the 32-bit word starting at bit `wordStart`. */
function wordMask(prefix: number, wordStart: number): number {
  const bits = prefix - wordStart;
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffff;
  return (0xffffffff << (32 - bits)) >>> 0;
}

function word(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

/** Parses one entry, or returns why it is invalid. */
function parseEntry(entry: string): Entry | string {
  const bit = NAMED_RANGES.get(entry);
  if (bit !== undefined) return { kind: 'named', bit };
  const slash = entry.indexOf('/');
  if (slash < 0) {
    const ip = parseIp(entry);
    if (ip !== undefined) return `a single address needs a prefix length, e.g. ${entry}/${ip.length * 8}`;
    return 'not a CIDR or a named range';
  }
  const ip = parseIp(entry.slice(0, slash));
  if (ip === undefined) return `"${entry.slice(0, slash)}" is not an IP address`;
  const bits = ip.length * 8;
  // Decimal digits only, leading zeros allowed, as Go's ParseCIDR reads the prefix length.
  const prefixText = entry.slice(slash + 1);
  if (prefixText.length === 0) return 'missing prefix length after "/"';
  let prefix = 0;
  for (let i = 0; i < prefixText.length; i++) {
    const c = prefixText.charCodeAt(i);
    if (c < 0x30 || c > 0x39) {
      return prefixText.indexOf('.') >= 0
        ? `"${prefixText}" is a netmask; write the prefix length instead (e.g. /24)`
        : `prefix length "${prefixText}" is not a number`;
    }
    if (prefix <= bits) prefix = prefix * 10 + (c - 0x30);
  }
  if (prefix > bits) return `prefix length ${prefixText} is out of range (0-${bits})`;
  if (ip.length === 4) {
    const mask = wordMask(prefix, 0);
    return { kind: 'v4', network: (word(ip, 0) & mask) >>> 0, mask };
  }
  const network = new Uint32Array(4);
  const mask = new Uint32Array(4);
  for (let w = 0; w < 4; w++) {
    mask[w] = wordMask(prefix, 32 * w);
    network[w] = word(ip, 4 * w) & mask[w];
  }
  // A masked network in ::ffff:0:0/96 is an IPv4 network for Go (only possible with prefix >= 96).
  if (network[0] === 0 && network[1] === 0 && network[2] === 0xffff) {
    return { kind: 'v4', network: network[3], mask: mask[3] };
  }
  return { kind: 'v6', network, mask };
}

function problem(entry: string, reason: string, setting: string): string {
  return `invalid ${setting} entry "${entry}": ${reason}; ${EXPECTED}`;
}

/**
 * The error message for an invalid `internal_networks` entry, or `undefined` when it is valid.
 * For the config validator; {@link parseNetworks} throws the same message.
 */
export function validateNetworkEntry(entry: unknown, setting = 'internal_networks'): string | undefined {
  if (typeof entry !== 'string') return `invalid ${setting} entry ${JSON.stringify(entry)}: must be a string`;
  const parsed = parseEntry(entry);
  return typeof parsed === 'string' ? problem(entry, parsed, setting) : undefined;
}

/**
 * Compiles `internal_networks` entries: CIDRs (IPv4 or IPv6) and named ranges (`private` = 10/8,
 * 172.16/12, 192.168/16, fd00::/8; `public`; `loopback`; `unicast` = `global_unicast`;
 * `link_local_unicast`; `link_local_multicast`; `interface_local_multicast`; `multicast`;
 * `unspecified`). Names are case-sensitive, as in Filebeat. An empty list leaves only the
 * always-internal addresses internal.
 *
 * @throws FlowshipError `FLOWSHIP_CONFIG` naming every invalid entry, one per line (Filebeat
 *   would instead make every address external at run time).
 */
export function parseNetworks(entries: readonly string[], setting = 'internal_networks'): Networks {
  let named = 0;
  const v4: number[] = [];
  const v6: number[] = [];
  const problems: string[] = [];
  for (const entry of entries) {
    if (typeof entry !== 'string') {
      problems.push(validateNetworkEntry(entry, setting) as string);
      continue;
    }
    const parsed = parseEntry(entry);
    if (typeof parsed === 'string') problems.push(problem(entry, parsed, setting));
    else if (parsed.kind === 'named') named |= parsed.bit;
    else if (parsed.kind === 'v4') v4.push(parsed.network, parsed.mask);
    else v6.push(...parsed.network, ...parsed.mask);
  }
  if (problems.length > 0) throw new FlowshipError('FLOWSHIP_CONFIG', problems.join('\n'));
  return Object.freeze({
    entries: Object.freeze([...entries]),
    named,
    v4: Uint32Array.from(v4),
    v6: Uint32Array.from(v6),
  });
}

/** Property bits of an IPv4 address given as a 32-bit word (Go's `net.IP` predicates). */
function classifyV4(w: number): number {
  const b0 = w >>> 24;
  const b1 = (w >>> 16) & 0xff;
  let bits = 0;
  if (b0 === 127) bits |= LOOPBACK;
  if (w === 0) bits |= UNSPECIFIED;
  if (w === 0xffffffff) bits |= BROADCAST;
  if (b0 === 169 && b1 === 254) bits |= LINK_LOCAL_UNICAST;
  if ((w & 0xffffff00) >>> 0 === 0xe0000000) bits |= LINK_LOCAL_MULTICAST;
  if ((b0 & 0xf0) === 0xe0) bits |= MULTICAST;
  if (b0 === 10 || (b0 === 172 && (b1 & 0xf0) === 16) || (b0 === 192 && b1 === 168)) bits |= PRIVATE;
  if ((bits & (BROADCAST | UNSPECIFIED | LOOPBACK | MULTICAST | LINK_LOCAL_UNICAST)) === 0)
    bits |= GLOBAL_UNICAST;
  if ((bits & NOT_PUBLIC) === 0) bits |= PUBLIC;
  return bits;
}

/** Property bits of a 16-byte address that is not IPv4-mapped. */
function classifyV6(ip: Uint8Array): number {
  let bits = 0;
  let zeroPrefix = true; // bytes 0-14 all zero
  for (let i = 0; i < 15; i++) {
    if (ip[i] !== 0) {
      zeroPrefix = false;
      break;
    }
  }
  if (zeroPrefix && ip[15] === 0) bits |= UNSPECIFIED;
  if (zeroPrefix && ip[15] === 1) bits |= LOOPBACK;
  if (ip[0] === 0xff) {
    bits |= MULTICAST;
    const scope = ip[1] & 0x0f;
    if (scope === 0x01) bits |= INTERFACE_LOCAL_MULTICAST;
    else if (scope === 0x02) bits |= LINK_LOCAL_MULTICAST;
  }
  if (ip[0] === 0xfe && (ip[1] & 0xc0) === 0x80) bits |= LINK_LOCAL_UNICAST;
  if (ip[0] === 0xfd) bits |= PRIVATE; // libbeat's RFC 4193 range is fd00::/8, not fc00::/7
  if ((bits & (UNSPECIFIED | LOOPBACK | MULTICAST | LINK_LOCAL_UNICAST)) === 0) bits |= GLOBAL_UNICAST;
  if ((bits & NOT_PUBLIC) === 0) bits |= PUBLIC;
  return bits;
}

/**
 * Whether `ip` (4 or 16 raw bytes) is internal: in an entry of `networks`, or loopback,
 * unspecified, 255.255.255.255, link-local unicast, link-local multicast or interface-local
 * multicast. Addresses of any other length are external.
 */
export function isInternal(networks: Networks, ip: Uint8Array): boolean {
  return matches(networks, ip, ALWAYS_INTERNAL);
}

/**
 * Whether `ip` (4 or 16 raw bytes; IPv4-mapped IPv6 counts as IPv4) is in an entry of `networks`,
 * and nothing else: for allow lists (`allowed_exporters`), where loopback is not implied.
 */
export function inNetworks(networks: Networks, ip: Uint8Array): boolean {
  return matches(networks, ip, 0);
}

/** In `networks`, or in a range of the property bits `implied`. */
function matches(networks: Networks, ip: Uint8Array, implied: number): boolean {
  let v4Offset = -1;
  if (ip.length === 4) {
    v4Offset = 0;
  } else if (ip.length === 16) {
    if (word(ip, 0) === 0 && word(ip, 4) === 0 && word(ip, 8) === 0xffff) v4Offset = 12;
  } else {
    return false;
  }
  if (v4Offset >= 0) {
    const w = word(ip, v4Offset);
    if ((classifyV4(w) & (implied | networks.named)) !== 0) return true;
    const nets = networks.v4;
    for (let i = 0; i < nets.length; i += 2) {
      if ((w & nets[i + 1]) >>> 0 === nets[i]) return true;
    }
    return false;
  }
  if ((classifyV6(ip) & (implied | networks.named)) !== 0) return true;
  const nets = networks.v6;
  if (nets.length === 0) return false;
  const w0 = word(ip, 0);
  const w1 = word(ip, 4);
  const w2 = word(ip, 8);
  const w3 = word(ip, 12);
  for (let i = 0; i < nets.length; i += 8) {
    if (
      (w0 & nets[i + 4]) >>> 0 === nets[i] &&
      (w1 & nets[i + 5]) >>> 0 === nets[i + 1] &&
      (w2 & nets[i + 6]) >>> 0 === nets[i + 2] &&
      (w3 & nets[i + 7]) >>> 0 === nets[i + 3]
    ) {
      return true;
    }
  }
  return false;
}
