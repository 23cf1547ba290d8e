/**
 * Offline decoding for `flowship decode`: capture files in, decoded records out, through the same
 * decoder the UDP input uses, with template state carried across packets and files in order.
 */

import { formatExporterAddress, normalizeRemoteAddress } from '../../ecs/ip.ts';
import { DecodeError } from '../../util/errors.ts';
import { nextV9Start, readCaptureFile } from './capture/index.ts';
import type { NetflowDecoder } from './decoder/decoder.ts';
import type { ExporterAddress } from './decoder/legacy.ts';
import type { DecodedRecord } from './decoder/types.ts';

export interface OfflineDecodeOptions {
  readonly decoder: NetflowDecoder;
  /** Source of `.dat` packets, which carry no address. */
  readonly exporter: { ip: string; port: number };
  /** A datagram that did not decode: where it was and why. Decoding goes on with the next. */
  readonly onError: (error: DecodeError, where: { file: string; frame: number; exporter: string }) => void;
}

export interface OfflineDecodeSummary {
  datagrams: number;
  records: number;
  errors: number;
}

/** Yields the file's records in order; decode errors go to `onError` and decoding goes on. */
export function* decodeCaptureFile(
  path: string,
  options: OfflineDecodeOptions,
  summary: OfflineDecodeSummary,
): Generator<DecodedRecord> {
  const { decoder, onError } = options;
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
    const data = Buffer.from(dg.payload.buffer, dg.payload.byteOffset, dg.payload.byteLength);
    // a .dat v9 packet has no length: another one may start where flowset parsing stopped
    let offset = 0;
    while (offset < data.length) {
      const packet = offset === 0 ? data : data.subarray(offset);
      summary.datagrams++;
      let consumed = packet.length;
      let records: DecodedRecord[] = [];
      try {
        const result = decoder.decode(packet, from);
        consumed = result.consumed;
        records = result.records;
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        summary.errors++;
        onError(err, { file: path, frame: dg.frame, exporter: from.address });
      }
      summary.records += records.length;
      yield* records;
      if (capture.kind !== 'dat' || packet.readUInt16BE(0) !== 9) break;
      const next = nextV9Start(packet, consumed);
      if (next === undefined || next <= 0) break;
      offset += next;
    }
  }
}
