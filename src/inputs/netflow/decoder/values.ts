/**
 * Readers that turn one field's bytes into the value a document carries (NETFLOW.md 3.4).
 *
 * A reader is chosen once, when a template is learned, from the element's type; the hot path then
 * calls it per record. A reader returns `undefined` to drop a value that does not decode (a boolean
 * of 3, a variable-length integer of 9 bytes, a date outside what JSON can render): only that field
 * is lost, never the record.
 */
import { isUtf8 } from 'node:buffer';
import { formatIPv6 } from '../../../ecs/ip.ts';
import { isoMillis } from '../../../util/iso-time.ts';
import type { IeType } from '../fields/types.ts';
import type { FieldValue } from './types.ts';

export type Reader = (buf: Buffer, offset: number, length: number) => FieldValue | undefined;

/** Field length that announces an IPFIX variable-length field (RFC 7011 §7; H3C uses it in v9). */
export const VARIABLE_LENGTH = 0xffff;

/** Lengths a template may declare for a type; outside them the field is skipped (Filebeat's bounds). */
export function lengthBounds(type: IeType): readonly [min: number, max: number] {
  switch (type) {
    case 'unsigned8':
    case 'signed8':
    case 'boolean':
      return [1, 1];
    case 'unsigned16':
    case 'signed16':
      return [1, 2];
    case 'unsigned32':
    case 'signed32':
      return [1, 4];
    case 'unsigned64':
    case 'signed64':
      return [1, 8];
    case 'float32':
    case 'dateTimeSeconds':
    case 'ipv4Address':
      return [4, 4];
    case 'float64':
      return [4, 8];
    case 'macAddress':
      return [6, 6];
    case 'dateTimeMilliseconds':
    case 'dateTimeMicroseconds':
    case 'dateTimeNanoseconds':
      return [8, 8];
    case 'ipv6Address':
      return [16, 16];
    case 'aclIdAsa':
      return [12, 12];
    default:
      // strings, octet arrays, lists and skipped fields take any length
      return [0, 0xffff];
  }
}

const TWO_32 = 0x1_0000_0000;
// Dates JSON can render with a four-digit year (Go's encoder refuses others).
const MIN_DATE_MS = -62_167_219_200_000;
const MAX_DATE_MS = 253_402_300_799_999;
// Seconds between the NTP epoch (1900) and the Unix epoch.
const NTP_UNIX_OFFSET_S = 2_208_988_800;

function readUnsigned(buf: Buffer, off: number, len: number): number | { rawJSON: string } | undefined {
  switch (len) {
    case 1:
      return buf[off];
    case 2:
      return buf.readUInt16BE(off);
    case 4:
      return buf.readUInt32BE(off);
    case 3:
    case 5:
    case 6:
      return buf.readUIntBE(off, len);
    case 7:
    case 8:
      return unsigned64(buf.readUIntBE(off, len - 4), buf.readUInt32BE(off + len - 4));
    default:
      return undefined;
  }
}

/** The unsigned integer `hi * 2^32 + lo`: a number below 2^53 (exact there), else its digits. */
function unsigned64(hi: number, lo: number): number | { rawJSON: string } {
  if (hi < 0x20_0000) return hi * TWO_32 + lo;
  return JSON.rawJSON(((BigInt(hi) << 32n) | BigInt(lo)).toString()) as { rawJSON: string };
}

function readSigned(buf: Buffer, off: number, len: number): number | { rawJSON: string } | undefined {
  switch (len) {
    case 1:
      return buf.readInt8(off);
    case 2:
      return buf.readInt16BE(off);
    case 4:
      return buf.readInt32BE(off);
    case 3:
    case 5:
    case 6:
      return buf.readIntBE(off, len);
    case 7:
    case 8: {
      const hi = buf.readIntBE(off, len - 4);
      const lo = buf.readUInt32BE(off + len - 4);
      if (hi >= -0x20_0000 && hi < 0x20_0000) return hi * TWO_32 + lo;
      return JSON.rawJSON(((BigInt(hi) << 32n) | BigInt(lo)).toString()) as { rawJSON: string };
    }
    default:
      return undefined;
  }
}

/** A date as the document shows it (ISO 8601, UTC, milliseconds), or undefined beyond four-digit years. */
function dateFromMs(ms: number): string | undefined {
  return ms >= MIN_DATE_MS && ms <= MAX_DATE_MS ? isoMillis(ms) : undefined;
}

function readNtp(buf: Buffer, off: number): string | undefined {
  const secs = buf.readUInt32BE(off);
  const frac = buf.readUInt32BE(off + 4);
  // fraction in 2^-32 s, truncated to the millisecond documents show
  return dateFromMs((secs - NTP_UNIX_OFFSET_S) * 1000 + Math.floor((frac * 1000) / TWO_32));
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const HEX_UPPER = HEX.map((h) => h.toUpperCase());

function formatMac(buf: Buffer, off: number): string {
  return `${HEX_UPPER[buf[off]]}-${HEX_UPPER[buf[off + 1]]}-${HEX_UPPER[buf[off + 2]]}-${HEX_UPPER[buf[off + 3]]}-${HEX_UPPER[buf[off + 4]]}-${HEX_UPPER[buf[off + 5]]}`;
}

export function formatIPv4(buf: Uint8Array, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

function hexWord(buf: Buffer, off: number): string {
  return HEX[buf[off]] + HEX[buf[off + 1]] + HEX[buf[off + 2]] + HEX[buf[off + 3]];
}

const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

function readString(buf: Buffer, off: number, len: number): string {
  let end = off + len;
  // trailing NULs are C-string padding; leading and embedded ones are data and stay
  while (end > off && buf[end - 1] === 0) end--;
  const bytes = buf.subarray(off, end);
  return utf8.decode(isUtf8(bytes) ? bytes : replaceInvalidUtf8(bytes));
}

/**
 * Length of the UTF-8 sequence starting at `i` if it is well-formed (RFC 3629 §4, the rules Go's
 * `utf8.DecodeRune` applies: no overlong forms, no surrogates, nothing above U+10FFFF), else 0.
 */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  let n: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c === 0xe0) lo = 0xa0;
    else if (c === 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c === 0xf0) lo = 0x90;
    else if (c === 0xf4) hi = 0x8f;
  } else return 0;
  if (i + n > b.length || b[i + 1] < lo || b[i + 1] > hi) return 0;
  for (let k = 2; k < n; k++) if (b[i + k] < 0x80 || b[i + k] > 0xbf) return 0;
  return n;
}

/**
 * Filebeat keeps the raw bytes and its JSON encoder writes one U+FFFD per invalid byte, while
 * TextDecoder writes one per maximal invalid subsequence (`e2 82 41` -> 2 vs 1). Replacing each
 * invalid byte by the UTF-8 form of U+FFFD first gives Filebeat's text.
 */
function replaceInvalidUtf8(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; ) {
    const n = utf8SequenceLength(bytes, i);
    if (n === 0) {
      out.push(0xef, 0xbf, 0xbd);
      i++;
    } else {
      for (let k = 0; k < n; k++) out.push(bytes[i + k]);
      i += n;
    }
  }
  return Uint8Array.from(out);
}

function readOctets(buf: Buffer, off: number, len: number): number[] {
  const out = new Array<number>(len);
  for (let i = 0; i < len; i++) out[i] = buf[off + i];
  return out;
}

const READERS: Record<IeType, Reader | undefined> = {
  unsigned8: (b, o, l) => (l === 1 ? b[o] : undefined),
  unsigned16: (b, o, l) => (l <= 2 ? readUnsigned(b, o, l) : undefined),
  unsigned32: (b, o, l) => (l <= 4 ? readUnsigned(b, o, l) : undefined),
  unsigned64: (b, o, l) => (l <= 8 ? readUnsigned(b, o, l) : undefined),
  signed8: (b, o, l) => (l === 1 ? b.readInt8(o) : undefined),
  signed16: (b, o, l) => (l <= 2 ? readSigned(b, o, l) : undefined),
  signed32: (b, o, l) => (l <= 4 ? readSigned(b, o, l) : undefined),
  signed64: (b, o, l) => (l <= 8 ? readSigned(b, o, l) : undefined),
  float32: (b, o, l) => (l === 4 ? finite(b.readFloatBE(o)) : undefined),
  float64: (b, o, l) =>
    l === 8 ? finite(b.readDoubleBE(o)) : l === 4 ? finite(b.readFloatBE(o)) : undefined,
  boolean: (b, o, l) => (l !== 1 ? undefined : b[o] === 1 ? true : b[o] === 2 ? false : undefined),
  macAddress: (b, o, l) => (l === 6 ? formatMac(b, o) : undefined),
  octetArray: readOctets,
  string: readString,
  dateTimeSeconds: (b, o, l) => (l === 4 ? dateFromMs(b.readUInt32BE(o) * 1000) : undefined),
  dateTimeMilliseconds: (b, o, l) => {
    if (l !== 8) return undefined;
    const hi = b.readUInt32BE(o);
    return hi < 0x20_0000 ? dateFromMs(hi * TWO_32 + b.readUInt32BE(o + 4)) : undefined;
  },
  dateTimeMicroseconds: (b, o, l) => (l === 8 ? readNtp(b, o) : undefined),
  dateTimeNanoseconds: (b, o, l) => (l === 8 ? readNtp(b, o) : undefined),
  ipv4Address: (b, o, l) => (l === 4 ? formatIPv4(b, o) : undefined),
  ipv6Address: (b, o, l) => (l === 16 ? formatIPv6(b, o) : undefined),
  aclIdAsa: (b, o, l) =>
    l === 12 ? `${hexWord(b, o)}-${hexWord(b, o + 4)}-${hexWord(b, o + 8)}` : undefined,
  // RFC 6313 lists are consumed, not emitted (NETFLOW.md 1.5)
  basicList: undefined,
  subTemplateList: undefined,
  subTemplateMultiList: undefined,
  skip: undefined,
};

function finite(n: number): number | undefined {
  // NaN and infinities have no JSON form
  return Number.isFinite(n) ? n : undefined;
}

function readU32(b: Buffer, o: number): number {
  return b[o] * 0x100_0000 + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
}

/**
 * Unsigned integers in their full length, the bulk of every record: read without the length
 * dispatch of {@link READERS}.
 */
const FULL_LENGTH_UNSIGNED: Readonly<Record<number, Reader>> = {
  1: (b, o) => b[o],
  2: (b, o) => (b[o] << 8) | b[o + 1],
  4: readU32,
  8: (b, o) => unsigned64(readU32(b, o), readU32(b, o + 4)),
};

const UNSIGNED_LENGTH: Partial<Record<IeType, number>> = {
  unsigned8: 1,
  unsigned16: 2,
  unsigned32: 4,
  unsigned64: 8,
};

/**
 * The reader for a type's values of `length` bytes (the template's field length; VARIABLE_LENGTH
 * when each record says), or undefined when the type's values are consumed but never emitted.
 */
export function readerFor(type: IeType, length: number): Reader | undefined {
  if (UNSIGNED_LENGTH[type] === length) return FULL_LENGTH_UNSIGNED[length];
  return READERS[type];
}
