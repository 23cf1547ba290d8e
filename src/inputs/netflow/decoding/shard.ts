/**
 * Which decoding worker owns an exporter (NETFLOW.md R7): by exporter IP, so that one exporter's
 * datagrams are decoded in arrival order by the worker holding its sessions, templates and
 * pending data. With `share_templates` sessions are keyed by source id alone, so v9/IPFIX
 * datagrams go by the source id in their header instead (v1-v8 have none and keep to the IP).
 */
import { peekSourceId } from '../datagram-processor.ts';

/** FNV-1a over the string's UTF-16 units: fast, stable, good enough to spread addresses. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The worker (0..workers-1) for a datagram from `ip`. */
export function shardOfDatagram(
  payload: Uint8Array,
  ip: string,
  workers: number,
  shareTemplates: boolean,
): number {
  if (shareTemplates && payload.length >= 2) {
    const version = (payload[0] << 8) | payload[1];
    const sourceId = peekSourceId(payload, version);
    if (sourceId !== undefined) return sourceId % workers;
  }
  return hash(ip) % workers;
}

/**
 * The exporter IP in a session key (`ip:port/sourceId`, `[v6]:port/sourceId`), as the receiver
 * formats addresses; undefined for a key without one.
 */
function ipOfSessionKey(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const address = slash < 0 ? key : key.slice(0, slash);
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    return end < 0 ? undefined : address.slice(1, end);
  }
  const colon = address.lastIndexOf(':');
  return colon < 0 ? undefined : address.slice(0, colon);
}

/** The worker that owns a v9/IPFIX session (for templates loaded from the cache, R4). */
export function shardOfSession(key: string, workers: number, shareTemplates: boolean): number {
  if (shareTemplates) {
    const sourceId = Number(key);
    if (Number.isInteger(sourceId) && sourceId >= 0) return sourceId % workers;
  }
  return hash(ipOfSessionKey(key) ?? key) % workers;
}
