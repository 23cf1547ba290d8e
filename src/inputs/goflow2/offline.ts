/**
 * Offline reading of GoFlow2 log files for `flowship decode FILE.log`: the same line splitting,
 * identity and mapping as the tailer, from the start of the file to its last complete line, so
 * the documents are the ones `run` would ship (ids included).
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Goflow2Normalizer, LineMeta } from '../../ecs/goflow2.ts';
import { documentId } from '../../ecs/goflow2-id.ts';
import { FlowshipError } from '../../util/errors.ts';
import { fingerprintOf, nativeIdentity } from './identity.ts';
import { type LineRange, LineSplitter } from './lines.ts';

export interface OfflineLogOptions {
  readonly inputId: string;
  readonly normalizer: Goflow2Normalizer;
  readonly messageMaxBytes: number;
  /** The identity fingerprint's bytes, as the tailer's `prospector.scanner.fingerprint`. */
  readonly fingerprint: { readonly enabled: boolean; readonly offset: number; readonly length: number };
  /** As the tailer's `file_identity`: `native` identifies a file by device and inode alone. */
  readonly fileIdentity: 'fingerprint' | 'native';
}

export interface OfflineLogSummary {
  lines: number;
  documents: number;
  tooLong: number;
  /** Bytes after the last `\n`: not a complete line, not shipped (as the tailer holds them). */
  partialTailBytes: number;
}

export interface OfflineLogDocument {
  /** The document as `run` ships it (JSON text). */
  readonly json: string;
  /** Index of the object within its line (split lines). */
  readonly part: number;
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
  let dev: bigint;
  let ino: bigint;
  // `log.file.path` as the tailer gives it: the absolute path it matched
  const file = resolve(path);
  try {
    data = readFileSync(file);
    ({ dev, ino } = statSync(file, { bigint: true }));
  } catch (err) {
    throw new FlowshipError('FLOWSHIP_CAPTURE', `cannot read ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const { offset, length } = options.fingerprint;
  const fp =
    options.fileIdentity === 'native'
      ? nativeIdentity(dev, ino)
      : fingerprintOf(data.subarray(offset, offset + length), length)?.fp;
  const consumed = yield* mapLines(data, options, summary, (range) => ({
    meta: {
      input: 'filestream',
      path: file,
      offset: range.start,
      device_id: dev.toString(),
      inode: ino.toString(),
      fingerprint: fp,
    },
    id: (part) =>
      fp === undefined ? undefined : documentId(options.inputId, fp, range.start, part, range.text),
  }));
  // as the tailer holds it: an unterminated last line is not complete
  summary.partialTailBytes += data.length - consumed;
}

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
      yield { json: part.json, part: part.part, id: id(part.part) };
    }
  }
  return consumed;
}
