/**
 * Deterministic `_id` of a NetFlow/IPFIX document (OUTPUT.md "_id"), so that bulk `create`
 * answers 409 for a record indexed before (a retry, a replay from the disk queue after a crash):
 *
 *   _id = base64url(SHA-256(input id 00 exporter 00 version 00 domain 00 sequence 00
 *                           export time ms 00 record index)[0..20))
 *
 * - exporter: `ip:port` as decoded (`netflow.exporter.address`);
 * - domain: the observation domain / source id (v9, IPFIX), the engine type and id (v5, v7,
 *   v8), empty where the version has none;
 * - sequence: the packet header's sequence number; it counts packets (v9) or records (v5-v8,
 *   IPFIX), so with the exporter, the domain and the export time it names one packet;
 * - record index: the record's position among the packet's decoded records.
 *
 * Where the header has no sequence number (v1, v6 exporters that leave it 0 are still
 * distinct by export time), no id is stable across exporters' packets: the id is then random,
 * which still makes retries and disk-queue replays of the same event idempotent.
 */
import { hash, randomBytes } from 'node:crypto';
import type { ExporterMeta } from '../inputs/netflow/decoder/types.ts';

const SEPARATOR = '\x00';

export function flowDocumentId(inputId: string, exporter: ExporterMeta, recordIndex: number): string {
  if (exporter.sequence === undefined) return randomBytes(20).toString('base64url');
  const domain =
    exporter.sourceId !== undefined
      ? `${exporter.sourceId}`
      : exporter.engineType !== undefined
        ? `${exporter.engineType}.${exporter.engineId ?? ''}`
        : '';
  const key = [
    inputId,
    exporter.address,
    exporter.version,
    domain,
    exporter.sequence,
    exporter.timestamp.getTime(),
    recordIndex,
  ].join(SEPARATOR);
  return hash('sha256', key, 'buffer').toString('base64url', 0, 20);
}
