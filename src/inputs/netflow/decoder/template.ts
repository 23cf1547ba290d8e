/**
 * Templates: the record layouts NetFlow v9 and IPFIX exporters announce, and the fixed layouts of
 * NetFlow v1-v8 expressed the same way. A template is compiled once against the field dictionary
 * (so the hot path never looks up a name) and then applied to data sets.
 */
import { DecodeError } from '../../../util/errors.ts';
import type { Dictionary, FieldDef } from '../fields/types.ts';
import { compileOptionsPlan, type OptionsPlan, samplerIdPosition } from './options-state.ts';
import type { DecodedRecord, ExporterMeta, FieldMap, FlowRecord } from './types.ts';
import { lengthBounds, type Reader, readerFor, VARIABLE_LENGTH } from './values.ts';

export { VARIABLE_LENGTH };

/** A field specifier as announced on the wire: kept verbatim so templates can be persisted. */
export interface FieldSpec {
  readonly pen: number;
  readonly id: number;
  readonly length: number;
}

interface CompiledField {
  readonly length: number;
  /** Document key, when the element is known and its length fits its type. */
  readonly key: string | undefined;
  readonly read: Reader | undefined;
  /** The key is an earlier field's of the same record part (scope or values): a value that does not decode leaves that one's. */
  readonly repeat: boolean;
}

export interface Template {
  readonly id: number;
  readonly fields: readonly FieldSpec[];
  /** Options templates: how many leading fields are scope fields. */
  readonly scopeCount: number;
  readonly isOptions: boolean;
  /** Sum of fixed lengths, counting each variable-length field as 1 (Filebeat's record bound). */
  readonly length: number;
  readonly variable: boolean;
  /**
   * The fields the decoder walks: every specifier except zero-length ones that emit nothing
   * (they take no bytes, and a template of thousands of them must not cost time per record).
   */
  readonly compiled: readonly CompiledField[];
  /** How many of `compiled` are scope fields (options templates). */
  readonly compiledScopeCount: number;
  /** How many of `compiled` emit a value, for the per-set value budget. */
  readonly emitting: number;
  /** The document keys of the emitting fields, in order, each once (FlowRecord.keys); options templates: of the non-scope fields. */
  readonly keys: readonly string[];
  /** A record's fields (options templates: its non-scope fields) before they are read: {@link keys}, each null. */
  readonly shape: Readonly<FieldMap>;
  /** An options record's scope fields before they are read. */
  readonly scopeShape: Readonly<FieldMap>;
  /** Options templates: what their records tell the session's options state (R6), if anything. */
  readonly optionsPlan: OptionsPlan | undefined;
  /**
   * Data templates: where `samplerId` (48) sits in a record as [offset, length] (R3 with R6),
   * when it can be read without walking the record.
   */
  readonly samplerIdAt: readonly [offset: number, length: number] | undefined;
}

/**
 * Where the options state (R6) takes what it needs from data sets: the records of options
 * templates with a plan, and the raw `samplerId` of flows. Given to applyTemplate only when the
 * decoder keeps options state (extended mode).
 */
export interface OptionsSink {
  /** One options record, `buf[start, end)`, whose template has a plan. */
  optionsRecord(plan: OptionsPlan, buf: Buffer, start: number, end: number): void;
}

function compileField(dictionary: Dictionary, spec: FieldSpec): CompiledField {
  const def: FieldDef | undefined = dictionary.lookup(spec.pen, spec.id);
  // `__proto__` (a custom definition may say so) would set the record's prototype: never emitted
  if (def === undefined || def.key === '__proto__') {
    return { length: spec.length, key: undefined, read: undefined, repeat: false };
  }
  const [min, max] = lengthBounds(def.type);
  const fits = spec.length === VARIABLE_LENGTH || (spec.length >= min && spec.length <= max);
  const read = fits ? readerFor(def.type, spec.length) : undefined;
  return { length: spec.length, key: read ? def.key : undefined, read, repeat: false };
}

/**
 * What a record of the template starts as: its keys in order, each null, to be copied (`{...shape}`)
 * and filled. JSON.parse gives an object with fast properties, which its copies keep; a record
 * built key by key turns into a slow dictionary past a dozen keys, slower to fill, to read and to
 * serialise (a 34-element Cisco IPFIX record took three times as long in `JSON.stringify`).
 */
function shapeOf(keys: readonly string[]): FieldMap {
  return JSON.parse(JSON.stringify(Object.fromEntries(keys.map((k) => [k, null]))));
}

/**
 * The distinct keys of `compiled[from, to)`, in order, and the shape of that record part; marks
 * the fields that repeat a key. A part with a repeated key gets no shape (records start empty):
 * its key must land where its first value that decodes is, as in a record built key by key.
 */
function part(compiled: CompiledField[], from: number, to: number): { keys: string[]; shape: FieldMap } {
  const keys = new Set<string>();
  let repeats = false;
  for (let i = from; i < to; i++) {
    const key = compiled[i].key;
    if (key === undefined) continue;
    if (keys.has(key)) {
      compiled[i] = { ...compiled[i], repeat: true };
      repeats = true;
    }
    keys.add(key);
  }
  const list = [...keys];
  return { keys: list, shape: repeats ? {} : shapeOf(list) };
}

function compileFields(dictionary: Dictionary, fields: readonly FieldSpec[], scopeCount: number) {
  const compiled: CompiledField[] = [];
  let compiledScopeCount = 0;
  let emitting = 0;
  fields.forEach((spec, i) => {
    const field = compileField(dictionary, spec);
    if (field.length === 0 && field.read === undefined) return;
    compiled.push(field);
    if (i < scopeCount) compiledScopeCount++;
    if (field.read !== undefined) emitting++;
  });
  const scope = part(compiled, 0, compiledScopeCount);
  const values = part(compiled, compiledScopeCount, compiled.length);
  return {
    compiled,
    compiledScopeCount,
    emitting,
    keys: values.keys,
    shape: values.shape,
    scopeShape: scope.shape,
  };
}

function sameFields(a: readonly FieldSpec[], b: readonly FieldSpec[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].id !== b[i].id || a[i].pen !== b[i].pen || a[i].length !== b[i].length) return false;
  }
  return true;
}

/**
 * Compiles a template against the dictionary. `v9Scopes`: an options template's scope fields are
 * v9 scope types (RFC 3954 §6.1: 1 System, 2 Interface, ...), not information elements; it only
 * changes what the options state reads (their documents use the dictionary either way). `known`:
 * the template the session holds under this id, returned as it is when the announcement repeats
 * it (exporters resend their templates every few packets, unchanged).
 */
export function compileTemplate(
  dictionary: Dictionary,
  id: number,
  fields: readonly FieldSpec[],
  scopeCount: number,
  isOptions: boolean,
  v9Scopes = false,
  known?: Template,
): Template {
  if (
    known !== undefined &&
    known.id === id &&
    known.scopeCount === scopeCount &&
    known.isOptions === isOptions &&
    sameFields(known.fields, fields)
  ) {
    return known;
  }
  let length = 0;
  let variable = false;
  for (const f of fields) {
    if (f.length === VARIABLE_LENGTH) {
      variable = true;
      length += 1;
    } else {
      length += f.length;
    }
  }
  return {
    id,
    fields,
    scopeCount,
    isOptions,
    length,
    variable,
    ...compileFields(dictionary, fields, scopeCount),
    optionsPlan: isOptions ? compileOptionsPlan(fields, scopeCount, v9Scopes) : undefined,
    samplerIdAt: isOptions ? undefined : samplerIdPosition(fields),
  };
}

/**
 * Reads fields [from, to) of one record at `offset` into `into`; returns the offset after the
 * record, or -1 when the record is cut short by the end of the set.
 *
 * Variable-length encoding (RFC 7011 §7):
 *   length < 255:  | len u8 | value ... |
 *   otherwise:     | 255 u8 | len u16  | value ... |
 */
function readFields(
  compiled: readonly CompiledField[],
  from: number,
  to: number,
  buf: Buffer,
  offset: number,
  end: number,
  into: FieldMap,
): number {
  let off = offset;
  for (let i = from; i < to; i++) {
    const field = compiled[i];
    let len = field.length;
    if (len === VARIABLE_LENGTH) {
      if (off >= end) return -1;
      len = buf[off++];
      if (len === 255) {
        if (off + 2 > end) return -1;
        len = buf.readUInt16BE(off);
        off += 2;
      }
    }
    if (off + len > end) return -1;
    if (field.read !== undefined) {
      const value = field.read(buf, off, len);
      if (value !== undefined) into[field.key!] = value;
      // drops the shape's null: rare (a value that does not decode), so the slow delete is fine
      else if (!field.repeat) delete into[field.key!];
    }
    off += len;
  }
  return off;
}

/**
 * Values one data set may produce. Real sets stay far below (a 64 KiB set of 4-byte records is
 * 16k values); a template of thousands of empty strings over 1-byte records would otherwise turn
 * one datagram into millions of values.
 */
export const MAX_VALUES_PER_SET = 262_144;

/**
 * Decodes the records of one data set body `[start, end)` and appends them to `out`.
 * `count` > 0 reads exactly that many records (v1-v8, where the header's count is trusted and a
 * short packet is an error); 0 reads as many as the body holds (v9, IPFIX: NETFLOW.md 1.6).
 * `options`, when given, is told the options records that state something (R6), and flows get
 * their raw `samplerId`.
 */
export function applyTemplate(
  template: Template,
  buf: Buffer,
  start: number,
  end: number,
  exporter: ExporterMeta,
  out: DecodedRecord[],
  count = 0,
  options?: OptionsSink,
): number {
  if (template.length === 0) {
    throw new DecodeError('empty_template', `template ${template.id} has no bytes`, {
      templateId: template.id,
    });
  }
  const fixedCount = Math.floor((end - start) / template.length);
  if (count > 0 && !template.variable && count > fixedCount) {
    throw new DecodeError('short_packet', `packet announces ${count} records but holds ${fixedCount}`, {
      templateId: template.id,
    });
  }
  // a variable-length body ends where a record no longer fits (at most 32767, as Filebeat)
  const limit = count > 0 ? count : template.variable ? 0x7fff : fixedCount;
  // every record takes at least template.length bytes, so fixedCount bounds the records
  if (fixedCount * template.emitting > MAX_VALUES_PER_SET) {
    throw new DecodeError(
      'too_many_values',
      `template ${template.id} could turn a ${end - start}-byte set into more than ${MAX_VALUES_PER_SET} values`,
      { templateId: template.id },
    );
  }
  const compiled = template.compiled;
  const total = compiled.length;
  const plan = options === undefined ? undefined : template.optionsPlan;
  const samplerIdAt = options === undefined ? undefined : template.samplerIdAt;
  let off = start;
  let produced = 0;
  for (let i = 0; i < limit; i++) {
    if (template.isOptions) {
      const scope: FieldMap = { ...template.scopeShape };
      const values: FieldMap = { ...template.shape };
      let next = readFields(compiled, 0, template.compiledScopeCount, buf, off, end, scope);
      if (next >= 0) next = readFields(compiled, template.compiledScopeCount, total, buf, next, end, values);
      if (next < 0) break;
      out.push({ type: 'netflow_options', exporter, scope, options: values, templateId: template.id });
      if (plan !== undefined && options !== undefined) options.optionsRecord(plan, buf, off, next);
      off = next;
    } else {
      const fields: FieldMap = { ...template.shape };
      const next = readFields(compiled, 0, total, buf, off, end, fields);
      if (next < 0) break;
      const record: FlowRecord = {
        type: 'netflow_flow',
        exporter,
        fields,
        templateId: template.id,
        keys: template.keys,
      };
      if (samplerIdAt !== undefined) record.samplerId = buf.readUIntBE(off + samplerIdAt[0], samplerIdAt[1]);
      out.push(record);
      off = next;
    }
    produced++;
  }
  if (count > 0 && produced < count) {
    throw new DecodeError('short_packet', `packet announces ${count} records but holds ${produced}`, {
      templateId: template.id,
    });
  }
  return produced;
}
