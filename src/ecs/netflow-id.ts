/**
 * Deterministic `_id` of a NetFlow/IPFIX document (OUTPUT.md "_id"), so that bulk `create`
 * answers 409 for a record indexed before (a retry, a replay from the disk queue after a crash):
 *
 *   _id = base64url(SHA-256(input id 00 exporter 00 SHA-256(datagram) 00 record index)[0..20))
 *
 * - exporter: `ip:port` as decoded (`netflow.exporter.address`);
 * - the datagram's digest: its header carries the version, the observation domain, the sequence
 *   number and the export time, and its body the records, so two different datagrams never
 *   share it, even from an exporter that leaves the sequence number at 0 or sends several
 *   packets in one export second; the same datagram received twice is the same flows, once;
 * - record index: the record's position among the datagram's decoded records.
 */
import { hash } from 'node:crypto';

const SEPARATOR = '\x00';

/** The digest of one datagram, the part of the id its records share (base64, 44 characters). */
export function datagramDigest(datagram: Uint8Array): string {
  return hash('sha256', datagram, 'base64');
}

export function flowDocumentId(
  inputId: string,
  exporterAddress: string,
  digest: string,
  recordIndex: number,
): string {
  const key = `${inputId}${SEPARATOR}${exporterAddress}${SEPARATOR}${digest}${SEPARATOR}${recordIndex}`;
  return hash('sha256', key, 'buffer').toString('base64url', 0, 20);
}
