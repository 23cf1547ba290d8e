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
 * arrays of byte values, booleans, and dates as ISO 8601 text in UTC with milliseconds
 * (`2017-11-21T14:32:15.000Z`, finer fractions truncated): what `JSON.stringify` writes for a
 * `Date`, without its slow path for objects with a `toJSON` method.
 */
export type FieldValue = number | RawJson | string | boolean | number[];

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
  /**
   * What the packet's session has learned from options data (R6), when it has learned anything
   * (extended mode only). A reference to the session's live state, shared by the packet's records
   * and set once the packet is decoded: nothing is copied per packet or per record. Non-enumerable
   * (not data of the packet): JSON, structured clones and deep equality leave it out.
   */
  sessionOptions?: SessionOptionsView;
}

/** Names an options record gave an interface or an application (R6). */
export interface OptionsNames {
  /** `interfaceName` (82) or `applicationName` (96). */
  readonly name: string | undefined;
  /** `interfaceDescription` (83) or `applicationDescription` (94). */
  readonly description: string | undefined;
}

/**
 * A session's options state as the normalizer reads it (NETFLOW.md 6, R6 with R2 and R3): tables
 * learned from the exporter's options data, and session-wide values. Lookups are O(1) and
 * allocate nothing.
 */
export interface SessionOptionsView {
  /** `systemInitTimeMilliseconds` (160), ms since the Unix epoch (R2). */
  readonly systemInitTimeMs: number | undefined;
  /** Sampling rate from an options record with no sampler id (System scope, or none; R3). */
  readonly samplingRate: number | undefined;
  /** Names by ifIndex (`ingressInterface` 10 / `egressInterface` 14, or v9 Interface scope). */
  interfaceNames(ifIndex: number): OptionsNames | undefined;
  /** Names by `applicationId` (95), given as its bytes (the record's `application_id`). */
  applicationNames(id: readonly number[]): OptionsNames | undefined;
  /** `VRFname` (236) by `ingressVRFID` / `egressVRFID` (234/235). */
  vrfName(id: number): string | undefined;
  /** Sampling rate by `samplerId` (48). */
  samplerRate(samplerId: number): number | undefined;
  /** Sampling rate by `selectorId` (302). */
  selectorRate(selectorId: number): number | undefined;
}

export interface FlowRecord {
  type: 'netflow_flow';
  exporter: ExporterMeta;
  fields: FieldMap;
  templateId?: number;
  /**
   * The keys `fields` may hold: its template's elements that emit a value, in order, each once.
   * One array shared by the template's records, so a reader can cache what it derives from it.
   */
  keys?: readonly string[];
  /**
   * `samplerId` (48) as sent, for the sampler table (R3 with R6; extended mode only). Cisco sends
   * it in 2 or 4 bytes, which `fields` drops (the element is an unsigned8, NETFLOW.md 3.4).
   */
  samplerId?: number;
}

export interface OptionsRecord {
  type: 'netflow_options';
  exporter: ExporterMeta;
  scope: FieldMap;
  options: FieldMap;
  templateId: number;
}

export type DecodedRecord = FlowRecord | OptionsRecord;
