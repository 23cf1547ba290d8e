/**
 * Information-element types and definitions shared by the generated dictionaries, the
 * `custom_definitions` loader and the decoders (NETFLOW.md 3.1, 3.4, 3.5).
 */

/** IANA abstract data types, plus the few decoder-only kinds vendors and Logstash need. */
export type IeType =
  | 'unsigned8'
  | 'unsigned16'
  | 'unsigned32'
  | 'unsigned64'
  | 'signed8'
  | 'signed16'
  | 'signed32'
  | 'signed64'
  | 'float32'
  | 'float64'
  | 'boolean'
  | 'macAddress'
  | 'octetArray'
  | 'string'
  | 'dateTimeSeconds'
  | 'dateTimeMilliseconds'
  | 'dateTimeMicroseconds'
  | 'dateTimeNanoseconds'
  | 'ipv4Address'
  | 'ipv6Address'
  | 'basicList'
  | 'subTemplateList'
  | 'subTemplateMultiList'
  /** Cisco ASA 12-byte ACL id, rendered `hhhhhhhh-hhhhhhhh-hhhhhhhh`. */
  | 'aclIdAsa'
  /** Consume the bytes, emit nothing (Logstash `:skip`, and types that decode to nothing). */
  | 'skip';

export interface FieldDef {
  /** Registered name, e.g. `postNATSourceIPv4Address`. */
  readonly name: string;
  /** Key under `netflow.` in documents, e.g. `post_nat_source_ipv4_address` (NETFLOW.md 3.3). */
  readonly key: string;
  readonly type: IeType;
}

/** `compatibility` setting: `filebeat` reproduces Filebeat exactly; `extended` may add fields. */
export type Compatibility = 'filebeat' | 'extended';

/** Lookup of (PEN, element id) -> definition. PEN 0 is IANA; NetFlow v9 ids use PEN 0. */
export interface Dictionary {
  lookup(pen: number, id: number): FieldDef | undefined;
}

/** Packs (PEN, id) into one exact JS number: PEN < 2^32, id < 2^16. */
export function fieldKey(pen: number, id: number): number {
  return pen * 0x10000 + id;
}
