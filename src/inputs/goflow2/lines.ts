/**
 * Splits a file's bytes into lines (TAILER.md §4.1–4.3). Pure: the reader feeds it chunks read at
 * known positions and gets back ranges, each a line to ship or a range with nothing to ship.
 *
 *     file:   EF BB BF { … } 0D 0A | 0A | 00 00 00 { … } 0A | { … 11 MiB … } 0A | { … (partial)
 *             '--- line (BOM, CR) -' empty  '-- line (NULs) --' '---- too_long ----' held, not emitted
 *
 * - A line is the bytes up to `\n`; a trailing `\r` is stripped, and a UTF-8 BOM at offset 0.
 * - A leading run of NUL bytes (a copytruncate hole under a non-O_APPEND writer) is dropped and
 *   counted; it is consumed as it streams, so a hole of any size never counts toward the limit.
 * - Past `maxBytes` the line stops being buffered and is skipped whole at its `\n`.
 * - The remainder after the last `\n` is held and never emitted.
 * - Each range carries the up to 32 bytes before its end: the offset marker's input (§6).
 */
import { isUtf8 } from 'node:buffer';
import { MARKER_BYTES, tailAfter } from './identity.ts';

interface RangeBase {
  /** File offset of the line's first byte (NULs and BOM included): `log.offset`. */
  readonly start: number;
  /** File offset after its `\n`: where the next line starts. */
  readonly end: number;
  /** The up to 32 bytes before `end` (copied). */
  readonly tail: Buffer;
  /** Leading NUL bytes dropped from this line. */
  readonly nulBytes: number;
}

export interface LineRange extends RangeBase {
  readonly kind: 'line';
  /** Decoded as UTF-8 (invalid sequences become U+FFFD), without terminator, `\r`, BOM or NULs. */
  readonly text: string;
  /** File offset of the first byte of `text`. */
  readonly textOffset: number;
  /** Byte length of what `text` was decoded from. */
  readonly bytes: number;
  readonly invalidUtf8: boolean;
}

export interface EmptyRange extends RangeBase {
  readonly kind: 'empty';
}

export interface TooLongRange extends RangeBase {
  readonly kind: 'too_long';
  /** Length of the line without its `\n`. */
  readonly length: number;
}

export type SplitRange = LineRange | EmptyRange | TooLongRange;

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export class LineSplitter {
  readonly #maxBytes: number;
  #lineStart = 0;
  #position = 0;
  #nul = 0;
  #pieces: Buffer[] = [];
  #pieceLength = 0;
  #skipping = false;
  #skipLength = 0;
  #tail: Buffer = Buffer.alloc(0);

  /** `maxBytes`: the longest line (without `\n` and `\r`) emitted (`message_max_bytes`). */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Starts over at `position`, a line start, with `tail` the up to 32 bytes before it. */
  reset(position: number, tail: Buffer): void {
    this.#lineStart = position;
    this.#position = position;
    this.#nul = 0;
    this.#pieces = [];
    this.#pieceLength = 0;
    this.#skipping = false;
    this.#skipLength = 0;
    this.#tail = tail;
  }

  /** Where the held (incomplete) line starts: the read offset. */
  get lineStart(): number {
    return this.#lineStart;
  }

  /** The position after the last byte pushed. */
  get position(): number {
    return this.#position;
  }

  /** The up to 32 bytes before `position`: compared with the file on each resume (§4.5). */
  get tail(): Buffer {
    return this.#tail;
  }

  /** Bytes held past the last complete line. */
  get held(): number {
    return this.#position - this.#lineStart;
  }

  /** Feeds the bytes at `position` (the chunk may be reused by the caller afterwards). */
  push(chunk: Buffer): SplitRange[] {
    const out: SplitRange[] = [];
    const base = this.#position;
    const len = chunk.length;
    let i = 0;
    while (i < len) {
      if (!this.#skipping && this.#pieceLength === 0) {
        while (i < len && chunk[i] === 0) {
          this.#nul++;
          i++;
        }
        if (i === len) break;
      }
      const newline = chunk.indexOf(0x0a, i);
      if (newline < 0) {
        this.#hold(chunk.subarray(i));
        break;
      }
      const end = base + newline + 1;
      out.push(this.#complete(chunk, i, newline, end, this.#tailAt(chunk, newline + 1)));
      this.#lineStart = end;
      this.#nul = 0;
      this.#pieces = [];
      this.#pieceLength = 0;
      this.#skipping = false;
      this.#skipLength = 0;
      i = newline + 1;
    }
    this.#position = base + len;
    this.#tail = tailAfter(this.#tail, chunk);
    return out;
  }

  #hold(rest: Buffer): void {
    if (this.#skipping) {
      this.#skipLength += rest.length;
      return;
    }
    this.#pieces.push(Buffer.from(rest));
    this.#pieceLength += rest.length;
    // one byte of slack: a `\r` before the `\n` does not count
    if (this.#pieceLength > this.#maxBytes + 1) {
      this.#skipping = true;
      this.#skipLength = this.#pieceLength;
      this.#pieces = [];
      this.#pieceLength = 0;
    }
  }

  /** The up to 32 bytes before `chunk[at]`, copied (the line's marker input). */
  #tailAt(chunk: Buffer, at: number): Buffer {
    if (at < MARKER_BYTES) return tailAfter(this.#tail, chunk.subarray(0, at));
    const tail = Buffer.allocUnsafe(MARKER_BYTES);
    chunk.copy(tail, 0, at - MARKER_BYTES, at);
    return tail;
  }

  /** The line ending at `chunk[to]` (its `\n`), whose last piece starts at `chunk[from]`. */
  #complete(chunk: Buffer, from: number, to: number, end: number, tail: Buffer): SplitRange {
    const start = this.#lineStart;
    const nulBytes = this.#nul;
    if (this.#skipping) {
      return { kind: 'too_long', start, end, tail, nulBytes, length: this.#skipLength + to - from };
    }
    // the content as [first, last) of `bytes`: the chunk itself unless earlier pieces are held
    let bytes = chunk;
    let first = from;
    let last = to;
    if (this.#pieceLength > 0) {
      bytes = Buffer.concat([...this.#pieces, chunk.subarray(from, to)]);
      first = 0;
      last = bytes.length;
    }
    let skip = 0;
    if (last > first && bytes[last - 1] === 0x0d) last--;
    if (
      start === 0 &&
      nulBytes === 0 &&
      last - first >= 3 &&
      bytes[first] === BOM[0] &&
      bytes[first + 1] === BOM[1] &&
      bytes[first + 2] === BOM[2]
    ) {
      first += 3;
      skip = 3;
    }
    const length = last - first;
    if (length > this.#maxBytes) {
      return { kind: 'too_long', start, end, tail, nulBytes, length: end - 1 - start - nulBytes };
    }
    if (length === 0) return { kind: 'empty', start, end, tail, nulBytes };
    const text = bytes.toString('utf8', first, last);
    // U+FFFD in the text is either written as such (valid) or a replacement: only then look closer
    const invalidUtf8 = text.includes('\ufffd') && !isUtf8(bytes.subarray(first, last));
    return {
      kind: 'line',
      start,
      end,
      tail,
      nulBytes,
      text,
      textOffset: start + nulBytes + skip,
      bytes: length,
      invalidUtf8,
    };
  }
}
