/**
 * Parser for the Logstash netflow codec's dictionary format, shared by the field-table generator
 * (`scripts/generate-fields.ts`, reading the shipped `ipfix.yaml`) and the `custom_definitions`
 * loader (NETFLOW.md 3.5, fixtures/reference/README.md "Parsing traps").
 *
 *   ipfix shape (every top-level value a map)    netflow (v9) shape (every top-level value a list)
 *   ------------------------------------------    ------------------------------------------------
 *   0:                  # PEN                     1:                  # element id, PEN 0
 *     1:                # element id                - 4               # byte length of an unsigned
 *     - :uint64         # type                      - :in_bytes       # name
 *     - :octetDeltaCount
 *     210:                                        44:
 *     - :skip           # consume, emit nothing     - :skip
 *
 * Values are Ruby symbols written as plain scalars, hence the optional leading `:`. Type names and
 * their meaning follow Filebeat's loader (elastic/beats x-pack/filebeat/input/netflow
 * definitions.go, read for behaviour only).
 */

import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { FlowshipError } from '../../../util/errors.ts';
import { fieldKey, type IeType } from './types.ts';

/** One definition as written in the file, with the type already mapped to an {@link IeType}. */
export interface YamlFieldEntry {
  readonly pen: number;
  readonly id: number;
  /** `skip` for `[:skip]` and for the Logstash types that decode to nothing. */
  readonly type: IeType;
  /**
   * Name with the leading `:` removed. Empty for a literal `:skip`: it defines nothing, and
   * Filebeat's loader drops such entries instead of letting them replace a definition. A named
   * entry of a decode-to-nothing type (`application_id`) does replace one.
   */
  readonly name: string;
}

export interface YamlDictionaryOptions {
  /** File name used in every error message. */
  readonly source: string;
  /**
   * `last-wins` is YAML-loader semantics, needed for the shipped `ipfix.yaml` (PEN 26866 id 2250
   * appears twice); `error` is for users' files, where a repeated id is almost always a mistake.
   */
  readonly duplicates: 'error' | 'last-wins';
}

/**
 * Logstash type name -> IE type. The integer widths are Filebeat's: its loader builds
 * `uint24`/`int24` (and `uint15`/`int15`) decoders that take the number as a *byte* count, so a
 * `uint24` field accepts 1 to 24 bytes. Mapping the 24s to 64-bit decodes every length 1..8
 * exactly as Filebeat does (a 4-byte `uint24` field still decodes; longer ones are skipped here).
 * `uint15` stays 16-bit: the YAML uses it as a typo for 16 bits (fixtures/reference/README.md).
 */
const TYPES: ReadonlyMap<string, IeType> = new Map<string, IeType>([
  ['uint8', 'unsigned8'],
  ['uint15', 'unsigned16'],
  ['uint16', 'unsigned16'],
  ['uint24', 'unsigned64'],
  ['uint32', 'unsigned32'],
  ['uint64', 'unsigned64'],
  ['int8', 'signed8'],
  ['int15', 'signed16'],
  ['int16', 'signed16'],
  ['int24', 'signed64'],
  ['int32', 'signed32'],
  ['int64', 'signed64'],
  ['float', 'float32'],
  ['double', 'float64'],
  ['ip4_addr', 'ipv4Address'],
  ['ip4addr', 'ipv4Address'],
  ['ip6_addr', 'ipv6Address'],
  ['ip6addr', 'ipv6Address'],
  ['mac_addr', 'macAddress'],
  ['macaddr', 'macAddress'],
  ['string', 'string'],
  ['octet_array', 'octetArray'],
  ['octetarray', 'octetArray'],
  ['acl_id_asa', 'aclIdAsa'],
  ['skip', 'skip'],
  // Logstash decodes these specially; Filebeat accepts them but emits nothing.
  ['mpls_label_stack_octets', 'skip'],
  ['application_id', 'skip'],
  ['forwarding_status', 'skip'],
]);

/**
 * netflow.yaml's integer types: a byte length of an unsigned, 0 meaning 4 (Logstash). Filebeat
 * turns length N into the type name `uint{8N}`, so 3 behaves like `uint24` above; lengths 5-7
 * (which Filebeat rejects) take the smallest type that holds them.
 */
const UNSIGNED_BY_LENGTH: readonly IeType[] = [
  'unsigned32',
  'unsigned8',
  'unsigned16',
  TYPES.get('uint24')!,
  'unsigned32',
  'unsigned64',
  'unsigned64',
  'unsigned64',
  'unsigned64',
];

const MAX_PEN = 0xffff_ffff;
const MAX_ID = 0xffff;

/**
 * Parses one dictionary file. Entries come back in document order; with `last-wins` a repeated
 * id keeps its first position and its last value, and a repeated PEN replaces the whole earlier
 * PEN map (what a YAML loader does with a repeated key).
 *
 * @throws FlowshipError `FLOWSHIP_CUSTOM_DEFINITIONS` naming the file, line, PEN and id.
 */
export function parseYamlDictionary(text: string, options: YamlDictionaryOptions): YamlFieldEntry[] {
  const { source, duplicates } = options;
  const lineCounter = new LineCounter();
  // Duplicates are detected below by numeric id, where the message can name the PEN and id.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const { line, col } = lineCounter.linePos(first.pos[0]);
    const message = `${source}:${line}:${col}: invalid YAML: ${first.message}`;
    throw new FlowshipError('FLOWSHIP_CUSTOM_DEFINITIONS', message, { cause: first });
  }

  const at = (node: Node | null | undefined): string => {
    const offset = node?.range?.[0];
    return offset === undefined ? source : `${source}:${lineCounter.linePos(offset).line}`;
  };
  const fail = (node: Node | null | undefined, message: string): never => {
    throw new FlowshipError('FLOWSHIP_CUSTOM_DEFINITIONS', `${at(node)}: ${message}`);
  };
  const resolve = (node: unknown): Node | null => {
    if (isAlias(node)) return (node.resolve(doc) as Node | undefined) ?? null;
    return (node as Node | null) ?? null;
  };

  const root = resolve(doc.contents);
  if (!isMap(root)) {
    return fail(
      root,
      'expected a mapping of element ids to [type, name] (NetFlow v9) or of PENs to such mappings (IPFIX)',
    );
  }

  const entries = new Map<number, YamlFieldEntry>();
  const top = root as YAMLMap<unknown, unknown>;
  let shape: 'list' | 'map' | undefined;
  for (const pair of top.items) {
    const value = resolve(pair.value);
    const valueShape = isSeq(value) ? 'list' : isMap(value) ? 'map' : undefined;
    if (valueShape === undefined) {
      return fail(
        value ?? resolve(pair.key),
        `value of top-level key ${describeKey(pair.key)} must be a list or a mapping`,
      );
    }
    if (shape !== undefined && shape !== valueShape) {
      return fail(
        resolve(pair.key),
        `mixes NetFlow v9 definitions (top-level lists) with IPFIX definitions (top-level mappings) at key ${describeKey(pair.key)}`,
      );
    }
    shape = valueShape;
  }

  const add = (entry: YamlFieldEntry, node: Node | null): void => {
    const k = fieldKey(entry.pen, entry.id);
    if (entries.has(k) && duplicates === 'error') {
      fail(node, `PEN ${entry.pen} id ${entry.id}: defined twice`);
    }
    entries.set(k, entry);
  };

  if (shape === 'list') {
    for (const pair of top.items) {
      const keyNode = resolve(pair.key);
      const id =
        toInteger(keyNode, MAX_ID) ??
        fail(keyNode, `element id ${describeKey(pair.key)} is not an integer 0-${MAX_ID}`);
      add(parseEntry(0, id, resolve(pair.value) as YAMLSeq<unknown>, resolve, fail), keyNode);
    }
    return [...entries.values()];
  }

  const seenPens = new Set<number>();
  for (const pair of top.items) {
    const penNode = resolve(pair.key);
    const pen =
      toInteger(penNode, MAX_PEN) ??
      fail(penNode, `PEN ${describeKey(pair.key)} is not an integer 0-${MAX_PEN}`);
    if (seenPens.has(pen)) {
      if (duplicates === 'error') fail(penNode, `PEN ${pen} appears twice`);
      for (const [k, entry] of entries) if (entry.pen === pen) entries.delete(k);
    }
    seenPens.add(pen);
    const fields = resolve(pair.value) as YAMLMap<unknown, unknown>;
    for (const field of fields.items) {
      const idNode = resolve(field.key);
      const id =
        toInteger(idNode, MAX_ID) ??
        fail(idNode, `PEN ${pen}: element id ${describeKey(field.key)} is not an integer 0-${MAX_ID}`);
      const value = resolve(field.value);
      if (!isSeq(value)) {
        return fail(value ?? idNode, `PEN ${pen} id ${id}: expected [type, name] or [:skip]`);
      }
      add(parseEntry(pen, id, value, resolve, fail), idNode);
    }
  }
  return [...entries.values()];
}

function parseEntry(
  pen: number,
  id: number,
  seq: YAMLSeq<unknown>,
  resolve: (node: unknown) => Node | null,
  fail: (node: Node | null | undefined, message: string) => never,
): YamlFieldEntry {
  const where = `PEN ${pen} id ${id}`;
  const items = seq.items.map(resolve);
  if (items.length < 1 || items.length > 2 || !items.every(isScalar)) {
    return fail(seq, `${where}: expected [type, name] or [:skip]`);
  }
  const rawType = (items[0] as { value: unknown }).value;
  let type: IeType | undefined;
  let typeText: string;
  if (typeof rawType === 'number') {
    typeText = String(rawType);
    type = Number.isInteger(rawType) && rawType >= 0 ? UNSIGNED_BY_LENGTH[rawType] : undefined;
  } else if (typeof rawType === 'string') {
    typeText = stripColon(rawType);
    type = TYPES.get(typeText);
  } else {
    typeText = String(rawType);
  }
  if (type === undefined) return fail(items[0], `${where}: unknown type "${typeText}"`);

  // A literal `skip` defines nothing, so any name given with it is dropped (see YamlFieldEntry).
  if (typeText === 'skip') return { pen, id, type, name: '' };
  if (items.length === 1) return fail(seq, `${where}: expected [type, name]; only :skip stands alone`);
  const rawName = (items[1] as { value: unknown }).value;
  const name = typeof rawName === 'string' ? stripColon(rawName).trim() : '';
  if (name === '') return fail(items[1], `${where}: name must be a non-empty string`);
  return { pen, id, type, name };
}

function stripColon(s: string): string {
  return s.startsWith(':') ? s.slice(1) : s;
}

/** Keys may be YAML integers or digit strings (Filebeat accepts both). */
function toInteger(node: Node | null, max: number): number | undefined {
  if (!isScalar(node)) return undefined;
  const v = node.value;
  const n =
    typeof v === 'number'
      ? v
      : typeof v === 'string' && /^(?:\d+|0x[0-9a-f]+)$/i.test(v.trim())
        ? Number(v)
        : Number.NaN;
  return Number.isInteger(n) && n >= 0 && n <= max ? n : undefined;
}

function describeKey(key: unknown): string {
  return isScalar(key) ? JSON.stringify(key.value) : 'of this entry';
}
