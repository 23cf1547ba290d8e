/**
 * What the NetFlow/IPFIX decoders produce: records keyed by `netflow.*` key, with the export
 * packet's header metadata. The ECS normalizer (src/ecs/netflow.ts) turns them into documents.
 */

/** `JSON.rawJSON(...)` result: an integer beyond 2^53 that `JSON.stringify` writes exactly. */
export interface RawJson {
  readonly rawJSON: string;
}

/**
 * A decoded value as it appears in the document: integers as numbers (or RawJson past 2^53),
 * floats as numbers, addresses and strings as text, MACs as `AA-BB-CC-DD-EE-FF`, octet arrays as
 * arrays of byte values, booleans, and dates as `Date` (JSON.stringify renders ISO with millis).
 */
export type FieldValue = number | RawJson | string | boolean | number[] | Date;

export type FieldMap = Record<string, FieldValue>;

/** Header metadata, `netflow.exporter.*` (NETFLOW.md 1.2-1.5). One object shared by a packet's records. */
export interface ExporterMeta {
  version: number;
  /** Export time from the packet header (sub-second kept for v1-v8). */
  timestamp: Date;
  uptimeMillis: number;
  /** `ip:port` (`[v6]:port`), IPv4-mapped IPv6 normalised to dotted IPv4. */
  address: string;
  /** Exporter IP alone, for `observer.ip`. */
  ip: string;
  sourceId?: number;
  engineType?: number;
  engineId?: number;
  samplingInterval?: number;
  aggregation?: number;
  aggregationVersion?: number;
  /** Packet sequence number from the header (v5-v9 flow_sequence/package_sequence, IPFIX sequence). */
  sequence?: number;
}

export interface FlowRecord {
  type: 'netflow_flow';
  exporter: ExporterMeta;
  fields: FieldMap;
  templateId?: number;
}

export interface OptionsRecord {
  type: 'netflow_options';
  exporter: ExporterMeta;
  scope: FieldMap;
  options: FieldMap;
  templateId: number;
}

export type DecodedRecord = FlowRecord | OptionsRecord;
