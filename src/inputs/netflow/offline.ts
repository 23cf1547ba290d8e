/**
 * Offline decoding for `flowship decode`: capture files in, decoded records out, through the same
 * decoder the UDP input uses, with template state and data waiting for its template (R1) carried
 * across packets and files in order.
 */

import { formatExporterAddress, normalizeRemoteAddress } from '../../ecs/ip.ts';
import { DecodeError } from '../../util/errors.ts';
import { nextV9Start, readCaptureFile } from './capture/index.ts';
import { type NetflowDecoder, replayedRecords } from './decoder/decoder.ts';
import type { ExporterAddress } from './decoder/legacy.ts';
import type { DecodedRecord } from './decoder/types.ts';

/**
 * The decoder's clock for offline decoding: the capture time of the datagram being decoded, never
 * going back (files given out of order). Build the decoder with `now: clock.now` and pass the clock
 * to `decodeCaptureFile`, and data kept pending for its template ages by the capture's time, as it
 * would have under `run`, however fast the file is read.
 */
export class CaptureClock {
  private ms = 0;
  readonly now = (): number => this.ms;

  /** Moves the clock to `ms`, if that is later. */
  advance(ms: number): void {
    if (ms > this.ms) this.ms = ms;
  }
}

export interface OfflineDecodeOptions {
  readonly decoder: NetflowDecoder;
  /** The clock `decoder` was built with, set to each datagram's capture time before it is decoded. */
  readonly clock?: CaptureClock;
  /** Source of `.dat` packets, which carry no address. */
  readonly exporter: { ip: string; port: number };
  /**
   * The input's `max_message_size`: a longer datagram is cut to it before decoding, as the UDP
   * receiver cuts it (NETFLOW.md 1.1), so that `decode` gives the documents `run` would ship.
   */
  readonly maxMessageSize: number;
  /**
   * A datagram that did not decode: where it was and why. Decoding goes on with the next. An
   * exception other than a `DecodeError` arrives as a `DecodeError` with reason `internal`, as
   * `run` counts it.
   */
  readonly onError: (error: DecodeError, where: OfflineDatagramPlace) => void;
  /** A datagram longer than `maxMessageSize` was cut to it; `length` is its length before the cut. */
  readonly onTruncated?: (where: OfflineDatagramPlace & { length: number }) => void;
}

export interface OfflineDatagramPlace {
  file: string;
  frame: number;
  exporter: string;
}

export interface OfflineDecodeSummary {
  datagrams: number;
  records: number;
  errors: number;
  /** Datagrams cut to `maxMessageSize`. */
  truncated: number;
}

/** Yields the file's records in order; decode errors go to `onError` and decoding goes on. */
export function* decodeCaptureFile(
  path: string,
  options: OfflineDecodeOptions,
  summary: OfflineDecodeSummary,
): Generator<DecodedRecord> {
  const { decoder, clock, maxMessageSize, onError, onTruncated } = options;
  const capture = readCaptureFile(path, { exporter: options.exporter });
  const addresses = new Map<string, ExporterAddress>();
  for (const dg of capture.datagrams) {
    const key = `${dg.srcIp}|${dg.srcPort}`;
    let from = addresses.get(key);
    if (from === undefined) {
      const ip = normalizeRemoteAddress(dg.srcIp);
      from = { ip, address: formatExporterAddress(ip, dg.srcPort) };
      addresses.set(key, from);
    }
    const place = { file: path, frame: dg.frame, exporter: from.address };
    clock?.advance(dg.timestampMs);
    const data = Buffer.from(dg.payload.buffer, dg.payload.byteOffset, dg.payload.byteLength);
    // A .dat v9 packet has no length: it runs to the next v9 header after where flowset parsing
    // stopped, or to the end of the file. It is decoded from a window of maxMessageSize bytes,
    // which holds all of a packet no longer than that, as the packet alone would have arrived.
    const v9Dat = capture.kind === 'dat' && data.length >= 2 && data.readUInt16BE(0) === 9;
    let offset = 0;
    while (offset < data.length) {
      const rest = offset === 0 ? data : data.subarray(offset);
      const packet = rest.length > maxMessageSize ? rest.subarray(0, maxMessageSize) : rest;
      summary.datagrams++;
      let next: number | undefined;
      let records: DecodedRecord[] = [];
      try {
        const result = decoder.decode(packet, from);
        records = result.records;
        if (v9Dat) next = nextV9Start(rest, result.consumed);
      } catch (err) {
        summary.errors++;
        onError(asDecodeError(err), place);
        // records of earlier packets its templates decoded before it failed (R1)
        records = [...replayedRecords(err)];
      }
      if (next !== undefined && next <= 0) next = undefined;
      const length = next ?? rest.length;
      if (length > maxMessageSize) {
        summary.truncated++;
        onTruncated?.({ ...place, length });
      }
      summary.records += records.length;
      yield* records;
      if (next === undefined) break;
      offset += next;
    }
  }
}

/** What `run` does with an exception from the decoder: a decode error with reason `internal`. */
function asDecodeError(err: unknown): DecodeError {
  if (err instanceof DecodeError) return err;
  return new DecodeError('internal', err instanceof Error ? err.message : String(err), { cause: err });
}
