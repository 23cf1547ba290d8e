/**
 * Offline reading of GoFlow2 log files for `flowship decode FILE.log`: the same line splitting,
 * identity and mapping as the tailer, from the start of the file to its last complete line, so
 * the documents are the ones `run` would ship (ids included).
 */
import { readFileSync, statSync } from 'node:fs';
import type { Goflow2Document, Goflow2Normalizer, LineMeta } from '../../ecs/goflow2.ts';
import { documentId } from '../../ecs/goflow2-id.ts';
import { FlowshipError } from '../../util/errors.ts';
import { fingerprintOf } from './identity.ts';
import { type LineRange, LineSplitter } from './lines.ts';

export interface OfflineLogOptions {
  readonly inputId: string;
  readonly normalizer: Goflow2Normalizer;
  readonly messageMaxBytes: number;
  /** The identity fingerprint's bytes, as the tailer's `prospector.scanner.fingerprint`. */
  readonly fingerprint: { readonly offset: number; readonly length: number };
}

export interface OfflineLogSummary {
  lines: number;
  documents: number;
  tooLong: number;
  /** Bytes after the last `\n`: not a complete line, not shipped (as the tailer holds them). */
  partialTailBytes: number;
}

export interface OfflineLogDocument extends Goflow2Document {
  /** The id `run` gives the document; undefined while the file has no identity yet (TAILER.md §3). */
  readonly id: string | undefined;
}

/** Yields the documents of a GoFlow2 log file, in file order. */
export function* decodeLogFile(
  path: string,
  options: OfflineLogOptions,
  summary: OfflineLogSummary,
): Generator<OfflineLogDocument> {
  let data: Buffer;
  let dev: string;
  let ino: string;
  try {
    data = readFileSync(path);
    const st = statSync(path, { bigint: true });
    dev = st.dev.toString();
    ino = st.ino.toString();
  } catch (err) {
    throw new FlowshipError('FLOWSHIP_CAPTURE', `cannot read ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const { offset, length } = options.fingerprint;
  const fp = fingerprintOf(data.subarray(offset, offset + length), length)?.fp;
  const consumed = yield* mapLines(data, options, summary, (range) => ({
    meta: { input: 'filestream', path, offset: range.start, device_id: dev, inode: ino, fingerprint: fp },
    id: (part) =>
      fp === undefined ? undefined : documentId(options.inputId, fp, range.start, part, range.text),
  }));
  // as the tailer holds it: an unterminated last line is not complete
  summary.partialTailBytes += data.length - consumed;
}

/**
 * Yields the documents of GoFlow2 lines read from a pipe (`flowship decode -`): no file, no
 * offsets, no ids; the last line counts even without its newline (the writer has exited).
 */
export function* decodeLogStream(
  data: Buffer,
  options: OfflineLogOptions,
  summary: OfflineLogSummary,
): Generator<OfflineLogDocument> {
  const complete =
    data.length === 0 || data[data.length - 1] === 0x0a ? data : Buffer.concat([data, NEWLINE]);
  yield* mapLines(complete, options, summary, () => ({ meta: { input: 'stdin' }, id: () => undefined }));
}

const NEWLINE = Buffer.from('\n');

/** Splits `data` as the tailer does and maps each line; returns the bytes consumed. */
function* mapLines(
  data: Buffer,
  options: OfflineLogOptions,
  summary: OfflineLogSummary,
  source: (range: LineRange) => { meta: LineMeta; id: (part: number) => string | undefined },
): Generator<OfflineLogDocument, number> {
  const splitter = new LineSplitter(options.messageMaxBytes);
  let consumed = 0;
  for (const range of splitter.push(data)) {
    consumed = range.end;
    if (range.kind === 'too_long') summary.tooLong++;
    if (range.kind !== 'line') continue;
    summary.lines++;
    const { meta, id } = source(range);
    for (const part of options.normalizer.map(range.text, meta)) {
      summary.documents++;
      yield { ...part, id: id(part.part) };
    }
  }
  return consumed;
}
