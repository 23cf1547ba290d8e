/**
 * Deterministic `_id` of a document read from a file (TAILER.md 7.5), so that bulk `create`
 * answers 409 for a line shipped before (a replay after a crash, a re-read copy):
 *
 *   _id = base64url(SHA-256(input id 00 fingerprint 00 offset 00 part 00 SHA-256(line))[0..20))
 *
 * - input id: the input's `id` (letters, digits, `.`, `_`, `-`), UTF-8;
 * - fingerprint: the file's identity fingerprint (TAILER.md 3), UTF-8;
 * - offset: the byte offset of the line start (not of the part), in decimal;
 * - part: the object's index within the line (GOFLOW2.md 2.6.3; 0 for an unsplit line), decimal;
 * - SHA-256(line): the digest of the whole line without its terminator, 32 raw bytes.
 *
 * The 0x00 separators cannot occur in the id, a hex fingerprint or the decimals, so the fields
 * cannot run into each other. 20 bytes give 27 characters, no padding.
 */
import { hash } from 'node:crypto';

const SEPARATOR = '\x00';
const DIGEST_BYTES = 32;
/** Reused input of the outer digest: the position fields, then the line's digest. */
let scratch = Buffer.allocUnsafe(1024);

export function documentId(
  inputId: string,
  fingerprint: string,
  offset: number | bigint,
  part: number,
  lineBytes: Uint8Array | string,
): string {
  // one-shot digests: a fraction of the cost of Hash objects for inputs this short
  const lineDigest = hash('sha256', lineBytes, 'buffer');
  const position = `${inputId}${SEPARATOR}${fingerprint}${SEPARATOR}${offset}${SEPARATOR}${part}${SEPARATOR}`;
  const needed = Buffer.byteLength(position) + DIGEST_BYTES;
  if (needed > scratch.length) scratch = Buffer.allocUnsafe(needed * 2);
  const written = scratch.write(position);
  lineDigest.copy(scratch, written);
  const digest = hash('sha256', scratch.subarray(0, written + DIGEST_BYTES), 'buffer');
  return digest.toString('base64url', 0, 20);
}
