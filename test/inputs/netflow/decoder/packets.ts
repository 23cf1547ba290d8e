/**
 * Byte-by-byte builders of NetFlow v1-v9 and IPFIX export packets for the decoder tests, written
 * from the layouts in NETFLOW.md 1 and RFC 3954 / RFC 7011, independently of the decoder.
 */
import { type DecoderOptions, NetflowDecoder } from '../../../../src/inputs/netflow/decoder/decoder.ts';
import type {
  DecodedRecord,
  FieldMap,
  FlowRecord,
  OptionsRecord,
  SessionOptionsView,
} from '../../../../src/inputs/netflow/decoder/types.ts';
import type { CustomDefinition } from '../../../../src/inputs/netflow/fields/custom.ts';
import { buildDictionary } from '../../../../src/inputs/netflow/fields/dictionary.ts';
import type { Compatibility, IeType } from '../../../../src/inputs/netflow/fields/types.ts';

export type Bytes = readonly number[];

export const u8 = (v: number): number[] => [v & 0xff];
export const u16 = (v: number): number[] => [(v >>> 8) & 0xff, v & 0xff];
export const u32 = (v: number): number[] => [
  (v >>> 24) & 0xff,
  (v >>> 16) & 0xff,
  (v >>> 8) & 0xff,
  v & 0xff,
];
export function u64(v: bigint): number[] {
  const out: number[] = [];
  for (let shift = 56n; shift >= 0n; shift -= 8n) out.push(Number((v >> shift) & 0xffn));
  return out;
}
/** `n`-byte big-endian unsigned (reduced-size encoding). */
export function uN(v: number | bigint, n: number): number[] {
  return u64(BigInt(v)).slice(8 - n);
}
export const ip4 = (text: string): number[] => text.split('.').map(Number);
export const zeros = (n: number): number[] => new Array(n).fill(0);
export const ascii = (text: string): number[] => [...Buffer.from(text, 'latin1')];

export function packet(...parts: Bytes[]): Buffer {
  return Buffer.from(parts.flat());
}

/** A v9 flowset / IPFIX set: id, length including the 4-byte header, body. */
export function set(id: number, ...body: Bytes[]): number[] {
  const flat = body.flat();
  return [...u16(id), ...u16(4 + flat.length), ...flat];
}

/** `set` padded with zeroes to a 4-byte boundary (RFC 3954 §5.3 / RFC 7011 §3.3.1). */
export function paddedSet(id: number, ...body: Bytes[]): number[] {
  const flat = body.flat();
  return set(id, flat, zeros((4 - ((4 + flat.length) % 4)) % 4));
}

// ---- NetFlow v9 -----------------------------------------------------------------------------

export interface V9Header {
  count?: number;
  uptime?: number;
  secs?: number;
  sequence?: number;
  sourceId?: number;
}

/** A v9 packet; `count` defaults to the number of flowsets. */
export function v9(header: V9Header, ...sets: Bytes[]): Buffer {
  const { count = sets.length, uptime = 1000, secs = 1_500_000_000, sequence = 0, sourceId = 0 } = header;
  return packet(u16(9), u16(count), u32(uptime), u32(secs), u32(sequence), u32(sourceId), ...sets);
}

/** A template record: id, field count, (type, length) pairs. */
export function v9Template(
  id: number,
  fields: readonly (readonly [type: number, length: number])[],
): number[] {
  return [...u16(id), ...u16(fields.length), ...fields.flatMap(([t, l]) => [...u16(t), ...u16(l)])];
}

/** An options template record: id, scope length, option length (bytes), scopes, options. */
export function v9OptionsTemplate(
  id: number,
  scopes: readonly (readonly [type: number, length: number])[],
  options: readonly (readonly [type: number, length: number])[],
): number[] {
  const spec = ([t, l]: readonly [number, number]) => [...u16(t), ...u16(l)];
  return [
    ...u16(id),
    ...u16(scopes.length * 4),
    ...u16(options.length * 4),
    ...scopes.flatMap(spec),
    ...options.flatMap(spec),
  ];
}

// ---- IPFIX ----------------------------------------------------------------------------------

export interface IpfixHeader {
  exportTime?: number;
  sequence?: number;
  domain?: number;
  /** Overrides the computed message length. */
  length?: number;
}

export function ipfix(header: IpfixHeader, ...sets: Bytes[]): Buffer {
  const body = sets.flat();
  const { exportTime = 1_500_000_000, sequence = 0, domain = 0, length = 16 + body.length } = header;
  return packet(u16(10), u16(length), u32(exportTime), u32(sequence), u32(domain), body);
}

/** Field specifier: [id, length] or [id, length, PEN] (enterprise bit set). */
export type Spec = readonly [id: number, length: number, pen?: number];

export function specifier([id, length, pen]: Spec): number[] {
  return pen === undefined
    ? [...u16(id), ...u16(length)]
    : [...u16(id | 0x8000), ...u16(length), ...u32(pen)];
}

export function ipfixTemplate(id: number, fields: readonly Spec[]): number[] {
  return [...u16(id), ...u16(fields.length), ...fields.flatMap(specifier)];
}

export function ipfixOptionsTemplate(id: number, scopeCount: number, fields: readonly Spec[]): number[] {
  return [...u16(id), ...u16(fields.length), ...u16(scopeCount), ...fields.flatMap(specifier)];
}

/** RFC 7011 §7 variable-length encoding: 1-byte length below 255, else 255 + u16 length. */
export function varlen(value: Bytes): number[] {
  return value.length < 255 ? [value.length, ...value] : [255, ...u16(value.length), ...value];
}

// ---- NetFlow v1-v8 --------------------------------------------------------------------------

export interface LegacyHeader {
  count?: number;
  uptime?: number;
  secs?: number;
  nsecs?: number;
  sequence?: number;
  engineType?: number;
  engineId?: number;
  sampling?: number;
  aggregation?: number;
  aggregationVersion?: number;
}

/** Header of version 1 (16 B), 5/6/7 (24 B) or 8 (28 B); count defaults to `records`. */
export function legacyHeader(version: number, h: LegacyHeader, records: number): number[] {
  const { count = records, uptime = 0, secs = 0, nsecs = 0, sequence = 0 } = h;
  const base = [...u16(version), ...u16(count), ...u32(uptime), ...u32(secs), ...u32(nsecs)];
  if (version === 1) return base;
  if (version === 8) {
    return [
      ...base,
      ...u32(sequence),
      ...u8(h.engineType ?? 0),
      ...u8(h.engineId ?? 0),
      ...u8(h.aggregation ?? 0),
      ...u8(h.aggregationVersion ?? 0),
      ...zeros(4),
    ];
  }
  if (version === 7) return [...base, ...u32(sequence), ...zeros(4)];
  return [
    ...base,
    ...u32(sequence),
    ...u8(h.engineType ?? 0),
    ...u8(h.engineId ?? 0),
    ...u16(h.sampling ?? 0),
  ];
}

export function legacy(version: number, h: LegacyHeader, ...records: Bytes[]): Buffer {
  return packet(legacyHeader(version, h, records.length), ...records);
}

// ---- Decoder --------------------------------------------------------------------------------

export const FROM = { ip: '192.0.2.1', address: '192.0.2.1:4444' };

/** A private enterprise number for test-only elements (see `TEST_TYPES`). */
export const TEST_PEN = 4_200_000_000;

/** Test-only elements under TEST_PEN, id -> [type, name]: one per type the tables lack. */
export const TEST_TYPES: Readonly<Record<number, readonly [IeType, string]>> = {
  1: ['signed8', 'testSigned8'],
  2: ['signed16', 'testSigned16'],
  3: ['signed32', 'testSigned32'],
  4: ['signed64', 'testSigned64'],
  5: ['float32', 'testFloat32'],
  6: ['float64', 'testFloat64'],
  7: ['unsigned64', 'testUnsigned64'],
  8: ['skip', 'testSkipped'],
};

export interface TestDecoderOptions extends Partial<DecoderOptions> {
  compatibility?: Compatibility;
}

/** A decoder over the built-in dictionary plus TEST_TYPES; no expiry unless asked. */
export function decoder(options: TestDecoderOptions = {}): NetflowDecoder {
  const compatibility = options.compatibility ?? 'filebeat';
  const custom: CustomDefinition[] = Object.entries(TEST_TYPES).map(([id, [type, name]]) => ({
    pen: TEST_PEN,
    id: Number(id),
    type,
    name,
    source: 'test',
  }));
  return new NetflowDecoder({
    dictionary: buildDictionary({ compatibility, custom }),
    expirationTimeoutMs: 0,
    ...options,
    compatibility,
  });
}

export function flows(records: readonly DecodedRecord[]): FieldMap[] {
  return records.filter((r): r is FlowRecord => r.type === 'netflow_flow').map((r) => r.fields);
}

export function options(records: readonly DecodedRecord[]): OptionsRecord[] {
  return records.filter((r): r is OptionsRecord => r.type === 'netflow_options');
}

/** The decoded fields as JSON would carry them (dates as ISO text, >2^53 integers exact). */
export function json(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value), (_key: string, v: unknown, ctx?: { source?: string }) =>
    typeof v === 'number' &&
    ctx?.source !== undefined &&
    /^-?\d+$/.test(ctx.source) &&
    !Number.isSafeInteger(v)
      ? BigInt(ctx.source)
      : v,
  );
}

/** A session options view (R6) that knows nothing but what `state` says. */
export function sessionOptionsView(state: Partial<SessionOptionsView> = {}): SessionOptionsView {
  return {
    systemInitTimeMs: undefined,
    samplingRate: undefined,
    interfaceNames: () => undefined,
    applicationNames: () => undefined,
    vrfName: () => undefined,
    samplerRate: () => undefined,
    selectorRate: () => undefined,
    ...state,
  };
}
