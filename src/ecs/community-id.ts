/**
 * Community ID v1 flow hashing (https://github.com/corelight/community-id-spec), two ways:
 *
 * - {@link communityIdFilebeat}: what Filebeat's netflow input puts in `network.community_id`,
 *   quirks included (NETFLOW.md 4.1). The netflow normalizer uses this one.
 * - {@link communityIdV1}: the specification, with real ICMP type/code mapping and a seed.
 *
 * Hash input (SHA-1), all big-endian; the digest is rendered as standard base64 with padding
 * behind `1:`:
 *
 *   +----------+---------+---------+----------+------+----------+----------+
 *   | seed u16 | A.ip    | B.ip    | proto u8 | 0x00 | A.port   | B.port   |
 *   |          | 4 or 16 | 4 or 16 |          | pad  | u16      | u16      |
 *   +----------+---------+---------+----------+------+----------+----------+
 *                                                     ^ only for TCP, UDP, SCTP, ICMP, ICMPv6
 *
 * A is the smaller endpoint: (src ip bytes, src port) < (dst ip bytes, dst port), comparing IP
 * bytes first and ports only when the IPs are equal; otherwise the endpoints swap. For ICMP the
 * "ports" are the message type and its counterpart type (echo request 8 <-> reply 0, ...), and a
 * type without a counterpart is one-way: ports (type, code), never swapped.
 *
 * Filebeat never fills libbeat's `Flow.ICMP`, so every ICMP flow hashes as type 0 code 0:
 * ICMPv4 type 0 (echo reply) pairs with 8 -> ports (0, 8), sorted (the two directions of a
 * ping get different IDs); ICMPv6 type 0 has no counterpart -> ports (0, 0), not sorted.
 *
 * Runs per flow: the input is written into one preallocated buffer and hashed through a
 * preallocated view of the right length with the one-shot `crypto.hash`.
 */
import { hash } from 'node:crypto';
import { compareIp, ipv4Offset } from './ip.ts';

const ICMP = 1;
const TCP = 6;
const UDP = 17;
const ICMPV6 = 58;
const SCTP = 132;

/** Counterpart of each ICMP type that has one (Zeek's mapping, as the spec prescribes), else -1. */
function counterparts(pairs: readonly (readonly [number, number])[]): Int16Array {
  const table = new Int16Array(256).fill(-1);
  for (const [a, b] of pairs) {
    table[a] = b;
    table[b] = a;
  }
  return table;
}

/** Echo, router solicitation/advertisement, timestamp, information, address mask. */
const ICMPV4_COUNTERPART = counterparts([
  [8, 0],
  [10, 9],
  [13, 14],
  [15, 16],
  [17, 18],
]);
/** Echo, MLD query/report, router and neighbour discovery, who-are-you, home agent discovery. */
const ICMPV6_COUNTERPART = counterparts([
  [128, 129],
  [130, 131],
  [133, 134],
  [135, 136],
  [139, 140],
  [144, 145],
]);

const MAX_INPUT = 2 + 16 + 16 + 2 + 4;
const input = new Uint8Array(MAX_INPUT);
/** `views[n]` is `input[0, n)`; made once so hashing never allocates a view. */
const views: Uint8Array[] = Array.from({ length: MAX_INPUT + 1 }, (_, n) => input.subarray(0, n));
/** Missing IPs hash as 4-byte 0.0.0.0, the same default Filebeat uses for `flow.id`. */
const UNSPECIFIED_V4 = new Uint8Array(4);

/**
 * Writes `ip` at `at`; with `unmap`, an IPv4-mapped address is written as its 4 IPv4 bytes, as
 * libbeat's `getRawIP` does with `To4()`.
 */
function writeIp(buf: Uint8Array, at: number, ip: Uint8Array, unmap: boolean): number {
  const offset = unmap ? ipv4Offset(ip) : -1;
  const from = Math.max(offset, 0);
  const n = ip.length - from;
  for (let i = 0; i < n; i++) buf[at + i] = ip[from + i];
  return at + n;
}

/** Hashes the tuple already in canonical order (A, B). */
function digest(
  seed: number,
  aIp: Uint8Array,
  aPort: number,
  bIp: Uint8Array,
  bPort: number,
  proto: number,
  unmap: boolean,
): string {
  const withPorts = proto === TCP || proto === UDP || proto === SCTP || proto === ICMP || proto === ICMPV6;
  const length = 2 + aIp.length + bIp.length + 2 + (withPorts ? 4 : 0);
  // Only malformed (non 4/16-byte) addresses can overflow the scratch buffer; they get their own.
  const buf = length <= MAX_INPUT ? input : new Uint8Array(length);
  buf[0] = seed >> 8;
  buf[1] = seed & 0xff;
  let at = writeIp(buf, 2, aIp, unmap);
  at = writeIp(buf, at, bIp, unmap);
  buf[at++] = proto;
  buf[at++] = 0;
  if (withPorts) {
    buf[at++] = aPort >> 8;
    buf[at++] = aPort & 0xff;
    buf[at++] = bPort >> 8;
    buf[at++] = bPort & 0xff;
  }
  // `at` may be shorter than `length` when mapped addresses were unmapped.
  return `1:${hash('sha1', at <= MAX_INPUT ? views[at] : buf.subarray(0, at), 'base64')}`;
}

/** Whether (aIp, aPort) <= ... is already the canonical order: strictly smaller, IP bytes first. */
function isOrdered(aIp: Uint8Array, aPort: number, bIp: Uint8Array, bPort: number): boolean {
  const c = compareIp(aIp, bIp);
  return c < 0 || (c === 0 && aPort < bPort);
}

/**
 * `network.community_id` as Filebeat's netflow input emits it (NETFLOW.md 4.1).
 *
 * @param srcIp source address, 4 or 16 raw bytes as decoded (read, not kept); `undefined` hashes
 *   as 0.0.0.0. IPv4-mapped addresses are hashed as 4 bytes but ordered by their 16 raw bytes,
 *   as libbeat does.
 * @param srcPort `sourceTransportPort`; `undefined` is 0; truncated to 16 bits. Ignored for ICMP
 *   and ICMPv6 (see the module comment).
 * @param dstIp destination address, as `srcIp`.
 * @param dstPort `destinationTransportPort`, as `srcPort`.
 * @param proto `protocolIdentifier`; `undefined` is 0; truncated to 8 bits.
 * @returns e.g. `1:uhU0lSQQ+LoAMve6GxHC0M3nIes=`.
 */
export function communityIdFilebeat(
  srcIp: Uint8Array | undefined,
  srcPort: number | undefined,
  dstIp: Uint8Array | undefined,
  dstPort: number | undefined,
  proto: number | undefined,
): string {
  const sIp = srcIp ?? UNSPECIFIED_V4;
  const dIp = dstIp ?? UNSPECIFIED_V4;
  const p = (proto ?? 0) & 0xff;
  let sPort: number;
  let dPort: number;
  let oneWay = false;
  if (p === ICMP) {
    // Type 0 (echo reply) assumed; its counterpart is 8.
    sPort = 0;
    dPort = 8;
  } else if (p === ICMPV6) {
    // Type 0 has no ICMPv6 counterpart: one-way, ports (type 0, code 0).
    sPort = 0;
    dPort = 0;
    oneWay = true;
  } else {
    sPort = (srcPort ?? 0) & 0xffff;
    dPort = (dstPort ?? 0) & 0xffff;
  }
  if (oneWay || isOrdered(sIp, sPort, dIp, dPort)) return digest(0, sIp, sPort, dIp, dPort, p, true);
  return digest(0, dIp, dPort, sIp, sPort, p, true);
}

/**
 * Community ID v1 per the specification.
 *
 * @param srcIp source address, 4 or 16 bytes, hashed as given.
 * @param srcPort source port; for ICMP/ICMPv6 the message type. `undefined` is 0.
 * @param dstIp destination address, 4 or 16 bytes, hashed as given.
 * @param dstPort destination port; for ICMP/ICMPv6 the message code. `undefined` is 0.
 * @param proto IP protocol number. Ports are hashed only for TCP, UDP, SCTP, ICMP and ICMPv6.
 * @param seed 0..65535, default 0.
 */
export function communityIdV1(
  srcIp: Uint8Array,
  srcPort: number | undefined,
  dstIp: Uint8Array,
  dstPort: number | undefined,
  proto: number,
  seed = 0,
): string {
  const p = proto & 0xff;
  let sPort = (srcPort ?? 0) & 0xffff;
  let dPort = (dstPort ?? 0) & 0xffff;
  let oneWay = false;
  if (p === ICMP || p === ICMPV6) {
    const type = sPort & 0xff;
    const counterpart = (p === ICMP ? ICMPV4_COUNTERPART : ICMPV6_COUNTERPART)[type];
    sPort = type;
    if (counterpart >= 0) {
      dPort = counterpart;
    } else {
      dPort &= 0xff;
      oneWay = true;
    }
  }
  const s = seed & 0xffff;
  if (oneWay || isOrdered(srcIp, sPort, dstIp, dPort)) return digest(s, srcIp, sPort, dstIp, dPort, p, false);
  return digest(s, dstIp, dPort, srcIp, sPort, p, false);
}
