/**
 * File identity (TAILER.md §3) and the offset marker (§4.5, §6).
 *
 * Fingerprint: SHA-256 (hex) of the bytes `[offset, offset + n)` of the file, where `n` is the
 * smaller of `length` and the end of the first line that ends at or beyond byte 64 of the range:
 *
 *     range:  |<------------------------- length (1024) ------------------------->|
 *     bytes:  {"type":"SFLOW_5","time_received_ns":17…,"bytes":1518,…}\n{"type":…
 *             0                               64 ^                       ^
 *                                                 first '\n' at >= 63 ---+--> n = index + 1
 *
 * A range with neither such a line nor `length` bytes has no identity yet: the file is not read
 * until it has one (nothing complete to ship is lost by waiting). Neither has a range shorter than
 * `length` holding only empty lines.
 *
 * Marker: the first 8 bytes (16 hex digits) of SHA-256 over the up to 32 bytes before an offset.
 * It detects a file truncated and regrown, or replaced, between two looks, which sizes cannot.
 */
import { createHash } from 'node:crypto';
import type { FileHandlePort } from './fs-port.ts';

/** Byte of the range the first line must reach for the fingerprint to be taken. */
export const FINGERPRINT_MIN_LINE_END = 64;
/** Bytes before an offset that its marker covers. */
export const MARKER_BYTES = 32;

export interface Fingerprint {
  /** SHA-256, 64 hex digits. */
  readonly fp: string;
  /** Bytes hashed (`fp_len` in the registry). */
  readonly length: number;
}

export interface FingerprintOptions {
  readonly offset: number;
  readonly length: number;
}

/** Reads until `length` bytes or end of file; returns the bytes read. */
export async function readFully(
  handle: FileHandlePort,
  buffer: Buffer,
  length: number,
  position: number,
): Promise<number> {
  let got = 0;
  while (got < length) {
    const n = await handle.read(buffer, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** The fingerprint of bytes read from the start of the range (`bytes.length` ≤ `length`). */
export function fingerprintOf(bytes: Buffer, length: number): Fingerprint | undefined {
  const newline = bytes.indexOf(0x0a, FINGERPRINT_MIN_LINE_END - 1);
  let n: number;
  if (newline >= 0 && newline < length) n = newline + 1;
  else if (bytes.length >= length) n = length;
  else return undefined;
  // Only empty lines so far: nothing to ship, and no entry for an empty-only file (Filebeat
  // TestFilestreamEmptyLinesOnly). Once `length` bytes exist the file is identified regardless.
  if (bytes.length < length && isBlank(bytes.subarray(0, n))) return undefined;
  return { fp: createHash('sha256').update(bytes.subarray(0, n)).digest('hex'), length: n };
}

function isBlank(bytes: Buffer): boolean {
  for (const b of bytes) if (b !== 0x0a && b !== 0x0d) return false;
  return true;
}

/** Computes a file's fingerprint, or undefined while it has no identity (§3 short files). */
export async function fingerprintFile(
  handle: FileHandlePort,
  options: FingerprintOptions,
): Promise<Fingerprint | undefined> {
  const buffer = Buffer.allocUnsafe(options.length);
  const got = await readFully(handle, buffer, options.length, options.offset);
  return fingerprintOf(buffer.subarray(0, got), options.length);
}

/** The up to 32 bytes before `offset` (fewer near the start, or if the file is shorter). */
export async function readMarkerBytes(handle: FileHandlePort, offset: number): Promise<Buffer> {
  const n = Math.min(MARKER_BYTES, offset);
  const buffer = Buffer.allocUnsafe(n);
  const got = await readFully(handle, buffer, n, offset - n);
  return buffer.subarray(0, got);
}

/** The marker (16 hex digits) of the bytes before an offset. */
export function markerOf(tail: Buffer): string {
  return createHash('sha256').update(tail).digest('hex').slice(0, 16);
}

/** The marker of offset 0 (no bytes before it). */
export const EMPTY_MARKER = markerOf(Buffer.alloc(0));

/** The last `MARKER_BYTES` of `prefix ++ bytes`, copied (never a view into a reused buffer). */
export function tailAfter(prefix: Buffer, bytes: Buffer): Buffer {
  if (bytes.length >= MARKER_BYTES) return Buffer.from(bytes.subarray(bytes.length - MARKER_BYTES));
  const keep = Math.min(prefix.length, MARKER_BYTES - bytes.length);
  return Buffer.concat([prefix.subarray(prefix.length - keep), bytes]);
}

/** `dev`/`ino` as the registry's key for native identity (`file_identity: native`). */
export function nativeIdentity(dev: bigint, ino: bigint): string {
  return `native-${dev}-${ino}`;
}

/**
 * The end of the last complete line at or before `size`, and the bytes before it (for
 * `ignore_older`, which sets an offset to a file's size but keeps offsets at line starts).
 * Searches back at most `maxScan` bytes; beyond that (an over-long unterminated tail) it gives up
 * and returns `size` itself.
 */
export async function lastLineEnd(
  handle: FileHandlePort,
  size: number,
  maxScan: number,
): Promise<{ offset: number; tail: Buffer }> {
  const chunk = Buffer.allocUnsafe(64 * 1024);
  let end = size;
  let offset = size;
  while (end > 0 && size - end <= maxScan) {
    const start = Math.max(0, end - chunk.length);
    const got = await readFully(handle, chunk, end - start, start);
    const newline = chunk.subarray(0, got).lastIndexOf(0x0a);
    if (newline >= 0) {
      offset = start + newline + 1;
      break;
    }
    end = start;
    if (end === 0) offset = 0;
  }
  return { offset, tail: await readMarkerBytes(handle, offset) };
}
