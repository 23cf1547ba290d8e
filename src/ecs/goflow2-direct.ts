/**
 * The GoFlow2 mapper's fast path: a line in GoFlow2's own shape goes straight to the document's
 * JSON text, with no parse into objects and no `JSON.stringify`. The text is byte for byte what
 * the step-by-step pipeline of `goflow2.ts` produces and serialises; anything this path does not
 * recognise returns `undefined`, and the caller takes the pipeline (a differential test holds the
 * two together).
 *
 *   {"type":"SFLOW_5","time_received_ns":…,"sequence_num":47142,…,"ipv6_routing_header_seg_left":0}
 *    └─ members: key, value [start, end), kind ──► moved fields ──► document text
 *                                                  kept runs ─────► "goflow2":{…} (sliced verbatim)
 *
 * Why copying source text is exact: a JSON string without backslashes, control characters or
 * surrogates is written back unchanged by `JSON.stringify`, and so is a canonical integer literal
 * (no leading zero, not `-0`; integers beyond 2^53 travel as their source text in both paths).
 *
 * What it takes (else `undefined`): one flat object filling the whole line, no whitespace between
 * tokens, no backslash, control character or surrogate anywhere, unique keys, values that are
 * strings, canonical integers, `true`/`false`/`null` or flat arrays of strings and integers; the
 * fields the pipeline reads must have the types its success path needs (GOFLOW2.md 2.2).
 *
 * GoFlow2 writes the same keys in the same order on every line, each value always of one kind. The
 * first line of such a shape compiles it into one anchored regular expression: the keys literally,
 * each value in the grammar of its kind (up to 8 shapes are kept). Later lines are checked by that expression alone (native code, a fraction of a
 * microsecond for 1.2 KB), and only the members the pipeline reads are then located, by `indexOf`
 * of their `"key":` text, which can only occur at that key once the shape matched (strings hold no
 * quote, and a closing quote is never followed by a letter).
 */

import { isoMillis } from '../util/iso-time.ts';
import { isInetAddress } from './ip.ts';

/** What does not change from line to line: the document's fixed parts, already serialised. */
export interface DirectLayout {
  /** Whether `event.original` stays (the `preserve_original_event` tag). */
  readonly preserveOriginal: boolean;
  /** `,"ecs":{…}`, then `,"agent":{…}` and `,"host":{…}` when configured. */
  readonly ecsAgentHost: string;
  /** `,"fields":{…}` (common fields not under root), or empty. */
  readonly fields: string;
}

// Kinds of value, from the first character.
const STRING = 1;
const INTEGER = 2;
const LITERAL_NULL = 3;
const LITERAL_BOOL = 4;
const ARRAY = 5;

// The keys the pipeline reads, as slots.
const KEYS = [
  'type',
  'time_flow_start_ns',
  'sampling_rate',
  'bytes',
  'sampler_address',
  'sequence_num',
  'in_if',
  'out_if',
  'src_addr',
  'dst_addr',
  'etype',
  'proto',
  'src_port',
  'dst_port',
  'src_vlan',
  'dst_vlan',
  'flow_size',
] as const;
const SLOT = new Map<string, number>(KEYS.map((k, i) => [k, i]));
const S_TYPE = 0;
const S_TIME_FLOW_START = 1;
const S_SAMPLING_RATE = 2;
const S_BYTES = 3;
const S_SAMPLER = 4;
const S_SEQUENCE = 5;
const S_IN_IF = 6;
const S_OUT_IF = 7;
const S_SRC_ADDR = 8;
const S_DST_ADDR = 9;
const S_ETYPE = 10;
const S_PROTO = 11;
const S_SRC_PORT = 12;
const S_DST_PORT = 13;
const S_SRC_VLAN = 14;
const S_DST_VLAN = 15;
const S_FLOW_SIZE = 16;

/** Step 41 removes these from `goflow2` whatever their value (a mask of slots); the others leave only when moved. */
const ALWAYS_REMOVED =
  (1 << S_TIME_FLOW_START) |
  (1 << S_PROTO) |
  (1 << S_ETYPE) |
  (1 << S_DST_ADDR) |
  (1 << S_SRC_ADDR) |
  (1 << S_SAMPLER) |
  (1 << S_BYTES);

/** At most this many members take the fast path (GoFlow2 writes about 50). */
const MAX_MEMBERS = 256;
/** Shapes remembered (distinct key sequences, as when two GoFlow2 versions share a file). */
const MAX_SHAPES = 8;
/** `Date` covers ±8.64e15 ms. */
const MAX_DATE_MS = 8.64e15;
const LONG_MAX_TEXT = '9223372036854775807';

// The value grammar this path accepts, as regular-expression source. Strings: no quote, backslash
// or control character (surrogates are checked on the whole line). Integers: canonical, not -0.
const STRING_RE = '"[^"\\\\\\u0000-\\u001f]*"';
const INTEGER_RE = '(?:0|-?[1-9][0-9]*)';
const SCALAR_RE = `(?:${STRING_RE}|${INTEGER_RE})`;
const ARRAY_RE = `\\[(?:${SCALAR_RE}(?:,${SCALAR_RE})*)?\\]`;

/** The pattern of a value of the kind its first character shows (a member keeps its kind). */
function valuePattern(first: number): string {
  if (first === QUOTE) return STRING_RE;
  if (first === OPEN_BRACKET) return ARRAY_RE;
  if (first === LETTER_N) return 'null';
  if (first === LETTER_T || first === LETTER_F) return '(?:true|false)';
  return INTEGER_RE;
}

/** Whether a key is an array index (`0` to `4294967294`), which JavaScript objects order first. */
function isArrayIndex(name: string): boolean {
  return /^(?:0|[1-9][0-9]{0,9})$/.test(name) && Number(name) < 4294967295;
}

/** Whether `text` holds a control character (invalid unescaped in JSON). */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 0x20) return true;
  return false;
}

/**
 * A key sequence with each value's kind: `"name":` per member, the member of each slot, and the
 * whole-line pattern.
 */
interface Shape {
  readonly keys: readonly string[];
  /** Member index per slot, or -1. */
  readonly slots: Int32Array;
  /** Slots present, in member order. */
  readonly present: Int32Array;
  readonly pattern: RegExp;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const LETTER_F = 0x66;
const LETTER_N = 0x6e;
const LETTER_T = 0x74;

/** End of the value at `pos`, which the shape's pattern has already checked. */
function valueEnd(line: string, pos: number): number {
  const c = line.charCodeAt(pos);
  if (c === QUOTE) return line.indexOf('"', pos + 1) + 1;
  if (c === OPEN_BRACKET) {
    let i = pos + 1;
    for (;;) {
      const e = line.charCodeAt(i);
      if (e === CLOSE_BRACKET) return i + 1;
      i = e === QUOTE ? line.indexOf('"', i + 1) + 1 : i + 1;
    }
  }
  if (c === LETTER_F) return pos + 5;
  if (c === LETTER_N || c === LETTER_T) return pos + 4;
  let i = pos + 1;
  for (let d = line.charCodeAt(i); d >= ZERO && d <= NINE; d = line.charCodeAt(++i));
  return i;
}

/**
 * The member keys of a flat object line, as `"name":`, and the first character of each value
 * (its kind), or undefined when the line is not one object of unique, plain keys. Values are only
 * skipped: the shape's pattern checks them.
 */
function memberKeys(line: string): { keys: string[]; kinds: number[] } | undefined {
  const n = line.length;
  if (n < 2 || line.charCodeAt(0) !== OPEN_BRACE || line.charCodeAt(n - 1) !== CLOSE_BRACE) return undefined;
  const keys: string[] = [];
  const kinds: number[] = [];
  const names = new Set<string>();
  let pos = 1;
  for (;;) {
    if (keys.length === MAX_MEMBERS || line.charCodeAt(pos) !== QUOTE) return undefined;
    const close = line.indexOf('"', pos + 1);
    if (close < 0 || line.charCodeAt(close + 1) !== COLON) return undefined;
    const name = line.slice(pos + 1, close);
    // Jackson rejects duplicates; `__proto__` is an own key to JSON.parse but not to `{}` literals;
    // array-index keys ("0", "17") come first in a parsed object, so the steps reorder them
    if (
      names.has(name) ||
      name === '__proto__' ||
      isArrayIndex(name) ||
      name.includes('\\') ||
      hasControlCharacter(name)
    ) {
      return undefined;
    }
    names.add(name);
    keys.push(line.slice(pos, close + 2));
    pos = close + 2;
    // skip the value: a string, an array of scalars, or a bare token up to , or }
    const c = line.charCodeAt(pos);
    kinds.push(c);
    if (c === QUOTE) {
      pos = line.indexOf('"', pos + 1) + 1;
      if (pos === 0) return undefined;
    } else if (c === OPEN_BRACKET) {
      pos++;
      for (let e = line.charCodeAt(pos); e !== CLOSE_BRACKET; e = line.charCodeAt(pos)) {
        if (pos >= n) return undefined;
        pos = e === QUOTE ? line.indexOf('"', pos + 1) + 1 : pos + 1;
        if (pos === 0) return undefined;
      }
      pos++;
    } else {
      while (pos < n && line.charCodeAt(pos) !== COMMA && line.charCodeAt(pos) !== CLOSE_BRACE) pos++;
    }
    const next = line.charCodeAt(pos);
    if (next === CLOSE_BRACE && pos === n - 1) return { keys, kinds };
    if (next !== COMMA) return undefined;
    pos++;
  }
}

function compileShape(keys: readonly string[], kinds: readonly number[]): Shape {
  const slots = new Int32Array(KEYS.length).fill(-1);
  const present: number[] = [];
  keys.forEach((key, member) => {
    const slot = SLOT.get(key.slice(1, -2));
    if (slot !== undefined) {
      slots[slot] = member;
      present.push(slot);
    }
  });
  const members = keys.map(
    (key, i) => `${key.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')}${valuePattern(kinds[i])}`,
  );
  return {
    keys,
    slots,
    present: Int32Array.from(present),
    pattern: new RegExp(`^\\{${members.join(',')}\\}$`),
  };
}

/** Whether an integer literal fits Java's long (Painless refuses BigInteger). */
function fitsLong(text: string): boolean {
  const digits = text.charCodeAt(0) === MINUS ? text.slice(1) : text;
  if (digits.length < 19) return true;
  // -9223372036854775808 is a long too, but never a time GoFlow2 writes: left to the pipeline
  return digits.length === 19 && text.charCodeAt(0) !== MINUS && digits <= LONG_MAX_TEXT;
}

/** Steps 8 and 10: milliseconds of an integer nanosecond literal, truncated toward zero. */
function millisOf(ns: string): number | undefined {
  if (!fitsLong(ns)) return undefined;
  const digits = ns.charCodeAt(0) === MINUS ? ns.length - 1 : ns.length;
  if (digits <= 6) return 0;
  const millis = Number(ns.slice(0, ns.length - 6));
  return Math.abs(millis) <= MAX_DATE_MS ? millis : undefined;
}

function join(a: string, b: string): string {
  return a === '' ? b : `${a},${b}`;
}

/** The pipeline steps that can create one of the document's objects, in order. */
const CREATION_STEPS = [12, 13, 15, 17, 19, 21, 22, 23, 24, 25, 27, 29, 30, 31, 45];

export class DirectMapper {
  readonly #shapes = new Map<string, Shape>();
  #last: Shape | undefined;
  // per line, by slot: where each value the pipeline reads sits
  readonly #keyStart = new Int32Array(KEYS.length);
  readonly #valueStart = new Int32Array(KEYS.length);
  readonly #valueEnd = new Int32Array(KEYS.length);

  /**
   * The document text for `line`, or undefined when the line needs the step-by-step pipeline.
   * `head` is the agent fields between `@timestamp` and `data_stream` (tags, input, log);
   * `eventHead` runs from `,"data_stream"` to the event's `type` (steps 1 to 3).
   */
  map(line: string, layout: DirectLayout, head: string, eventHead: string): string | undefined {
    const shape = this.#shapeOf(line);
    if (shape === undefined) return undefined;
    const slots = shape.slots;
    if (slots[S_FLOW_SIZE] >= 0) return undefined;
    this.#locate(line, shape);

    // 8, 10: @timestamp from time_flow_start_ns
    if (this.#kind(line, S_TIME_FLOW_START, slots) !== INTEGER) return undefined;
    const millis = millisOf(this.#text(line, S_TIME_FLOW_START));
    if (millis === undefined) return undefined;

    // 9: flow_size = bytes * sampling_rate, when both are present
    const bytes = this.#present(line, S_BYTES, slots);
    const rate = this.#present(line, S_SAMPLING_RATE, slots);
    let flowSize: string | undefined;
    if (bytes && rate) {
      if (
        this.#kind(line, S_BYTES, slots) !== INTEGER ||
        this.#kind(line, S_SAMPLING_RATE, slots) !== INTEGER
      ) {
        return undefined;
      }
      const a = this.#text(line, S_BYTES);
      const b = this.#text(line, S_SAMPLING_RATE);
      if (a.length > 15 || b.length > 15) return undefined;
      const product = Number(a) * Number(b);
      if (!Number.isSafeInteger(product)) return undefined;
      flowSize = String(product);
    }

    const type = this.#present(line, S_TYPE, slots);
    const sampler = this.#present(line, S_SAMPLER, slots);
    if (sampler && this.#kind(line, S_SAMPLER, slots) !== STRING) return undefined;
    const sequence = this.#present(line, S_SEQUENCE, slots);
    const inIf = this.#idString(line, S_IN_IF, slots);
    const outIf = this.#idString(line, S_OUT_IF, slots);
    const srcVlan = this.#idString(line, S_SRC_VLAN, slots);
    const dstVlan = this.#idString(line, S_DST_VLAN, slots);
    if (inIf === null || outIf === null || srcVlan === null || dstVlan === null) return undefined;
    const srcAddr = this.#address(line, S_SRC_ADDR, slots);
    const dstAddr = this.#address(line, S_DST_ADDR, slots);
    if (srcAddr === null || dstAddr === null) return undefined;
    const etype = this.#lowercase(line, S_ETYPE, slots);
    const proto = this.#lowercase(line, S_PROTO, slots);
    if (etype === null || proto === null) return undefined;
    const srcPort = this.#present(line, S_SRC_PORT, slots);
    const dstPort = this.#present(line, S_DST_PORT, slots);

    // Steps 12 to 47 create observer, sflow, source, destination and network in the order of
    // their first field (the document keeps that key order); each notes the step that created it.
    let observerAt = 0;
    let ingressAt = 0;
    let egressAt = 0;
    let sflowAt = 0;
    let sourceAt = 0;
    let destinationAt = 0;
    let networkAt = 0;
    let ingress = '';
    let egress = '';
    let sflow = '';
    let source = '';
    let destination = '';
    let network = '';
    if (sampler) observerAt = 12;
    if (sequence) {
      sflowAt = 13;
      sflow = `"sequence_num":${this.#text(line, S_SEQUENCE)}`;
    }
    if (inIf !== undefined) {
      observerAt ||= 15;
      ingressAt = 15;
      ingress = `"interface":{"id":${inIf}}`;
    }
    if (outIf !== undefined) {
      observerAt ||= 17;
      egressAt = 17;
      egress = `"interface":{"id":${outIf}}`;
    }
    if (srcAddr !== undefined) {
      sourceAt = 19;
      source = `"ip":${srcAddr}`;
    }
    if (dstAddr !== undefined) {
      destinationAt = 21;
      destination = `"ip":${dstAddr}`;
    }
    if (etype !== undefined) {
      networkAt = 22;
      network = `"type":${etype}`; // lowercased: 44
    }
    if (proto !== undefined) {
      networkAt ||= 23;
      network = join(network, `"transport":${proto}`); // 43
    }
    if (srcPort) {
      sourceAt ||= 24;
      source = join(source, `"port":${this.#text(line, S_SRC_PORT)}`);
    }
    if (dstPort) {
      destinationAt ||= 25;
      destination = join(destination, `"port":${this.#text(line, S_DST_PORT)}`);
    }
    if (srcVlan !== undefined) {
      observerAt ||= 27;
      ingressAt ||= 27;
      ingress = join(ingress, `"vlan":{"id":${srcVlan}}`);
    }
    if (dstVlan !== undefined) {
      observerAt ||= 29;
      egressAt ||= 29;
      egress = join(egress, `"vlan":{"id":${dstVlan}}`);
    }
    if (rate) {
      networkAt ||= 30;
      network = join(network, `"packets":${this.#text(line, S_SAMPLING_RATE)}`);
    }
    if (bytes) {
      sflowAt ||= 31;
      sflow = join(sflow, `"bytes":${this.#text(line, S_BYTES)}`);
    }
    if (flowSize !== undefined) network = join(network, `"bytes":${flowSize}`); // 32
    if (rate) {
      sflowAt ||= 45;
      sflow = join(sflow, `"sample_rate":${this.#text(line, S_SAMPLING_RATE)}`);
    }
    // 46, 47 append to destination and source, created at 20 and 18
    if (dstAddr !== undefined) destination = join(destination, `"address":[${dstAddr}]`);
    if (srcAddr !== undefined) source = join(source, `"address":[${srcAddr}]`);

    let out = `{"@timestamp":"${isoMillis(millis)}",${head}${eventHead}`;
    if (layout.preserveOriginal) out += `,"original":${JSON.stringify(line)}`;
    if (type) out += `,"action":${this.#text(line, S_TYPE)}`;
    out += `}${layout.ecsAgentHost}`;
    let leaving = ALWAYS_REMOVED;
    if (type) leaving |= 1 << S_TYPE;
    if (sequence) leaving |= 1 << S_SEQUENCE;
    if (srcPort) leaving |= 1 << S_SRC_PORT;
    if (dstPort) leaving |= 1 << S_DST_PORT;
    if (rate) leaving |= 1 << S_SAMPLING_RATE;
    if (inIf !== undefined) leaving |= 1 << S_IN_IF;
    if (outIf !== undefined) leaving |= 1 << S_OUT_IF;
    if (srcVlan !== undefined) leaving |= 1 << S_SRC_VLAN;
    if (dstVlan !== undefined) leaving |= 1 << S_DST_VLAN;
    const kept = this.#kept(line, shape, leaving);
    if (kept !== '') out += `,"goflow2":{${kept}}`;
    for (const step of CREATION_STEPS) {
      if (step === observerAt) {
        let observer = sampler ? `"ip":[${this.#text(line, S_SAMPLER)}]` : '';
        const ingressFirst = ingressAt !== 0 && (egressAt === 0 || ingressAt < egressAt);
        if (ingressFirst) observer = join(observer, `"ingress":{${ingress}}`);
        if (egressAt !== 0) observer = join(observer, `"egress":{${egress}}`);
        if (ingressAt !== 0 && !ingressFirst) observer = join(observer, `"ingress":{${ingress}}`);
        out += `,"observer":{${observer}}`;
      } else if (step === sflowAt) out += `,"sflow":{${sflow}}`;
      else if (step === sourceAt) out += `,"source":{${source}}`;
      else if (step === destinationAt) out += `,"destination":{${destination}}`;
      else if (step === networkAt) out += `,"network":{${network}}`;
    }
    // 48, 49
    if (srcAddr !== undefined && dstAddr !== undefined) out += `,"related":{"ip":[${srcAddr},${dstAddr}]}`;
    else if (srcAddr !== undefined) out += `,"related":{"ip":[${srcAddr}]}`;
    else if (dstAddr !== undefined) out += `,"related":{"ip":[${dstAddr}]}`;
    return `${out}${layout.fields}}`;
  }

  /** The line's shape when the line is in the accepted grammar (learning a new key sequence). */
  #shapeOf(line: string): Shape | undefined {
    if (this.#last?.pattern.test(line)) return line.isWellFormed() ? this.#last : undefined;
    const members = memberKeys(line);
    if (members === undefined) return undefined;
    const id = `${members.keys.join('')}\u0000${String.fromCharCode(...members.kinds)}`;
    let shape = this.#shapes.get(id);
    if (shape === undefined) {
      shape = compileShape(members.keys, members.kinds);
      if (this.#shapes.size >= MAX_SHAPES) this.#shapes.delete(this.#shapes.keys().next().value!);
      this.#shapes.set(id, shape);
    }
    this.#last = shape;
    return shape.pattern.test(line) && line.isWellFormed() ? shape : undefined;
  }

  /** Finds the members the pipeline reads, in member order. */
  #locate(line: string, shape: Shape): void {
    let from = 1;
    let previous = -1;
    for (let i = 0; i < shape.present.length; i++) {
      const slot = shape.present[i];
      const member = shape.slots[slot];
      const key = shape.keys[member];
      // the next member starts after the comma; others are found by their key
      const start = member === previous + 1 ? (member === 0 ? 1 : from + 1) : line.indexOf(key, from);
      previous = member;
      const value = start + key.length;
      this.#keyStart[slot] = start;
      this.#valueStart[slot] = value;
      from = this.#valueEnd[slot] = valueEnd(line, value);
    }
  }

  /**
   * The `goflow2` members left after step 41, as runs sliced from the line: all but those of the
   * slots in the `leaving` mask.
   */
  #kept(line: string, shape: Shape, leaving: number): string {
    let out = '';
    let runStart = 1; // after `{`
    for (let i = 0; i < shape.present.length; i++) {
      const slot = shape.present[i];
      if ((leaving & (1 << slot)) === 0) continue;
      const keyStart = this.#keyStart[slot];
      if (keyStart > runStart) out = join(out, line.slice(runStart, keyStart - 1)); // without its comma
      runStart = this.#valueEnd[slot] + 1; // past the comma
    }
    if (runStart < line.length - 1) out = join(out, line.slice(runStart, line.length - 1));
    return out;
  }

  #kind(line: string, slot: number, slots: Int32Array): number {
    if (slots[slot] < 0) return 0;
    const c = line.charCodeAt(this.#valueStart[slot]);
    if (c === QUOTE) return STRING;
    if (c === OPEN_BRACKET) return ARRAY;
    if (c === LETTER_N) return LITERAL_NULL;
    if (c === LETTER_T || c === LETTER_F) return LITERAL_BOOL;
    return INTEGER;
  }

  /** Whether the member of `slot` exists with a present value (the pipeline's `!= null && != ''`). */
  #present(line: string, slot: number, slots: Int32Array): boolean {
    const kind = this.#kind(line, slot, slots);
    if (kind === 0 || kind === LITERAL_NULL) return false;
    return !(kind === STRING && this.#valueEnd[slot] - this.#valueStart[slot] === 2);
  }

  #text(line: string, slot: number): string {
    return line.slice(this.#valueStart[slot], this.#valueEnd[slot]);
  }

  /** Steps 15, 17, 27, 29: the value as a JSON string; undefined when absent, null unsupported. */
  #idString(line: string, slot: number, slots: Int32Array): string | undefined | null {
    if (!this.#present(line, slot, slots)) return undefined;
    const kind = this.#kind(line, slot, slots);
    if (kind === STRING) return this.#text(line, slot);
    if (kind === INTEGER) return `"${this.#text(line, slot)}"`;
    return null;
  }

  /** Steps 18 to 21: a valid address (JSON text); undefined when absent, null otherwise. */
  #address(line: string, slot: number, slots: Int32Array): string | undefined | null {
    if (!this.#present(line, slot, slots)) return undefined;
    if (this.#kind(line, slot, slots) !== STRING) return null;
    const text = this.#text(line, slot);
    return isInetAddress(text.slice(1, -1)) ? text : null;
  }

  /** Steps 22, 23, 43, 44: a string, lowercased (JSON text); undefined when absent, null otherwise. */
  #lowercase(line: string, slot: number, slots: Int32Array): string | undefined | null {
    if (!this.#present(line, slot, slots)) return undefined;
    if (this.#kind(line, slot, slots) !== STRING) return null;
    return this.#text(line, slot).toLowerCase();
  }
}
