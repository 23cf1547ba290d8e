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
import { createHash } from 'node:crypto';

const SEPARATOR = Buffer.of(0);

export function documentId(
  inputId: string,
  fingerprint: string,
  offset: number | bigint,
  part: number,
  lineBytes: Uint8Array | string,
): string {
  const lineDigest = createHash('sha256').update(lineBytes).digest();
  return createHash('sha256')
    .update(inputId)
    .update(SEPARATOR)
    .update(fingerprint)
    .update(SEPARATOR)
    .update(String(offset))
    .update(SEPARATOR)
    .update(String(part))
    .update(SEPARATOR)
    .update(lineDigest)
    .digest()
    .subarray(0, 20)
    .toString('base64url');
}
