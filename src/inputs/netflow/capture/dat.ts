/**
 * Splits a `.dat` file - raw export packets (UDP payloads) written back to back, as in the
 * Logstash codec's test data - into one `Uint8Array` per packet (NETFLOW.md 1.1).
 *
 * Each packet's length comes from its own header:
 *
 *   version  header  packet length                         source
 *   1        16 B    16 + 48 x count                       NETFLOW.md 1.2
 *   5        24 B    24 + 48 x count                       NETFLOW.md 1.2
 *   6, 7     24 B    24 + 52 x count                       NETFLOW.md 1.2
 *   8        28 B    28 + count x record size of the       NETFLOW.md 1.3
 *                    aggregation scheme (byte 22)
 *   9        20 B    unknown: the rest of the file         NETFLOW.md 1.4 (no length field)
 *   10       16 B    `length` (bytes 2-3)                  RFC 7011 §3.1
 *
 *      0                   1                   2                   3
 *      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *     +-------------------------------+-------------------------------+
 *     |           version             |  count (1-9) / length (10)    |
 *     +-------------------------------+-------------------------------+
 *
 * A v9 packet ends where the decoder's flowset parsing stops; the decoder reports the bytes it
 * consumed and `nextV9Start` says whether another v9 packet follows. A declared length beyond the
 * file yields the remainder, for the decoder to reject. Bytes after the first packet that cannot
 * be a header of a known version (trailing zero padding, a stub shorter than a header) are
 * dropped silently; a file whose first bytes are no known header is returned whole, so the decoder
 * reports the error.
 */
import { legacyRecordSize } from '../decoder/legacy.ts';

/** Header size per export version; also the set of versions a packet may start with. */
const HEADER_SIZE: Readonly<Record<number, number>> = { 1: 16, 5: 24, 6: 24, 7: 24, 8: 28, 9: 20, 10: 16 };

/** Smallest header a v9 packet needs to be decoded as one. */
const V9_HEADER_SIZE = 20;

/** Splits a `.dat` file into export packets; the returned arrays are views into `data`. */
export function splitDat(data: Uint8Array): Uint8Array[] {
  const packets: Uint8Array[] = [];
  let off = 0;
  while (off < data.length) {
    const size = packetSize(data, off);
    if (size === undefined) {
      if (off === 0) packets.push(data);
      break;
    }
    const end = Math.min(off + size, data.length);
    packets.push(data.subarray(off, end));
    off = end;
  }
  return packets;
}

/**
 * Where the next v9 packet starts in `data` (a v9 packet as returned by `splitDat`) after the
 * decoder consumed `consumed` bytes: `consumed` when a v9 header (version 9, at least 20 bytes)
 * starts there, else undefined (the rest is ignored silently, NETFLOW.md 1.1).
 */
export function nextV9Start(data: Uint8Array, consumed: number): number | undefined {
  if (!Number.isInteger(consumed) || consumed <= 0 || data.length - consumed < V9_HEADER_SIZE)
    return undefined;
  return u16(data, consumed) === 9 ? consumed : undefined;
}

/** Length of the packet at `off`; Infinity for "the rest"; undefined when no header starts there. */
function packetSize(data: Uint8Array, off: number): number | undefined {
  const remaining = data.length - off;
  if (remaining < 2) return undefined;
  const version = u16(data, off);
  const header = HEADER_SIZE[version];
  if (header === undefined || remaining < header) return undefined;
  switch (version) {
    case 9:
      return Number.POSITIVE_INFINITY;
    case 10: {
      const length = u16(data, off + 2);
      // A length shorter than the header cannot be walked past; the decoder rejects it.
      return length < header ? Number.POSITIVE_INFINITY : length;
    }
    default: {
      // v1-v8: the record sizes of the decoder's own layouts (v8: by aggregation scheme, byte 22)
      const record = legacyRecordSize(version, data[off + 22]);
      return record === undefined ? Number.POSITIVE_INFINITY : header + u16(data, off + 2) * record;
    }
  }
}

function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}
