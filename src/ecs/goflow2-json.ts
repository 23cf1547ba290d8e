/**
 * Reading GoFlow2 JSON lines the way Elasticsearch's `json` processor does (GOFLOW2.md 1.6, 2.6.3).
 *
 * - {@link scanJson}: one string-aware depth walk over a line. It finds the top-level values (to
 *   split GoFlow2's interleaved `{A}{B}` records) and the first duplicate key of each (Jackson's
 *   STRICT_DUPLICATE_DETECTION, which `JSON.parse` lacks: it keeps the last value).
 * - {@link parseJson}: `JSON.parse` with a reviver that reads each number's source text. Integer
 *   literals beyond ±(2^53-1) become `JSON.rawJSON` values (exact, and written back digit for digit
 *   by `JSON.stringify`); float literals (`.`, `e`) are remembered, because Java keeps them as
 *   `Double`, which divides, multiplies and prints differently from an integer.
 *
 * The scanner does not validate grammar: a line it accepts can still be invalid JSON, and
 * `parseJson` then throws. It only has to be right about strings, nesting and keys.
 */

/** `JSON.rawJSON(...)`: an integer literal beyond 2^53, kept as its source text. */
export interface RawJson {
  readonly rawJSON: string;
}

/** A member's number literal, as `[key, source text]`. */
export type NumberLiteral = readonly [key: string, source: string];

/** One top-level value of a scanned text: `[start, end)` in UTF-16 units. */
export interface JsonSpan {
  readonly start: number;
  readonly end: number;
  /** Whether the value is an object (`{...}`). */
  readonly object: boolean;
  /** The first key that repeats within one object of this value (decoded), if any. */
  readonly duplicate: string | undefined;
  /**
   * For an object: the number literals of its own members that plain `JSON.parse` could round or
   * lose the kind of (16 characters or more, or float syntax). Undefined when such a literal sits
   * deeper, where only the reviver can place it, and for other values.
   */
  readonly numbers: readonly NumberLiteral[] | undefined;
}

export interface JsonScan {
  readonly spans: readonly JsonSpan[];
  /**
   * Whether the text is nothing but complete top-level values and whitespace: no unterminated
   * string or container, no stray closing bracket.
   */
  readonly clean: boolean;
  /** Nesting went beyond {@link MAX_NESTING_DEPTH}; the scan stopped there. */
  readonly tooDeep: boolean;
}

/**
 * Jackson's default `maxNestingDepth` (StreamReadConstraints, 2.15 and later): deeper text fails
 * to parse. It also bounds every recursive walk over parsed values here and downstream.
 */
export const MAX_NESTING_DEPTH = 1000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/** JSON's four whitespace characters. */
function isJsonWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDelimiter(c: number): boolean {
  return (
    isJsonWhitespace(c) ||
    c === COMMA ||
    c === COLON ||
    c === QUOTE ||
    c === OPEN_BRACE ||
    c === CLOSE_BRACE ||
    c === OPEN_BRACKET ||
    c === CLOSE_BRACKET
  );
}

/** Index just past the string literal that opens at `start`, or -1 if it never closes. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const close = text.indexOf('"', i);
    if (close < 0) return -1;
    // the quote is escaped when an odd number of backslashes precede it
    let backslashes = 0;
    for (let j = close - 1; j > start && text.charCodeAt(j) === BACKSLASH; j--) backslashes++;
    if (backslashes % 2 === 0) return close + 1;
    i = close + 1;
  }
}

/** The key a string literal names; escapes decoded (`"\u0061"` is `a`), invalid ones kept raw. */
function keyName(text: string, start: number, end: number): string {
  const raw = text.slice(start + 1, end - 1);
  if (raw.indexOf('\\') < 0) return raw;
  try {
    return JSON.parse(text.slice(start, end)) as string;
  } catch {
    return raw;
  }
}

function hasFloatSyntax(source: string): boolean {
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 0x2e || c === 0x65 || c === 0x45) return true; // . e E
  }
  return false;
}

/**
 * Walks `text` once, tracking strings and nesting, and returns its top-level values with the
 * first duplicate key of each and the number literals that need their source text. Between
 * values only whitespace is expected.
 *
 *   {"a":1,"b":"}{"}  {"a":2,"a":3}
 *   └── span 0 ─────┘  └─ span 1 ───┘ duplicate "a"
 */
export function scanJson(text: string): JsonScan {
  const spans: JsonSpan[] = [];
  // one entry per open container: the keys seen so far for an object, null for an array
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  let key = '';
  let spanStart = 0;
  let duplicate: string | undefined;
  let numbers: NumberLiteral[] | undefined = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (end < 0) return { spans, clean: false, tooDeep: false };
      if (stack.length === 0) {
        spans.push({ start: i, end, object: false, duplicate: undefined, numbers: undefined });
      } else if (expectKey) {
        const keys = stack[stack.length - 1]!;
        key = keyName(text, i, end);
        if (keys.has(key)) duplicate ??= key;
        else keys.add(key);
        expectKey = false;
      }
      i = end;
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (stack.length === 0) {
        spanStart = i;
        duplicate = undefined;
        numbers = [];
      }
      if (stack.length === MAX_NESTING_DEPTH) return { spans, clean: false, tooDeep: true };
      stack.push(c === OPEN_BRACE ? new Set() : null);
      expectKey = c === OPEN_BRACE;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      const open = stack.pop();
      if (open === undefined || (open === null) !== (c === CLOSE_BRACKET)) {
        return { spans, clean: false, tooDeep: false };
      }
      if (stack.length === 0) {
        const object = c === CLOSE_BRACE;
        spans.push({
          start: spanStart,
          end: i + 1,
          object,
          duplicate,
          numbers: object ? numbers : undefined,
        });
      }
      expectKey = false;
    } else if (c === COMMA) {
      expectKey = stack.length > 0 && stack[stack.length - 1] !== null;
    } else if (stack.length === 0 ? !isJsonWhitespace(c) : c === MINUS || (c >= ZERO && c <= NINE)) {
      // a number inside a container, or a bare scalar (number, literal, garbage) at the top level
      let end = i + 1;
      while (end < n && !isDelimiter(text.charCodeAt(end))) end++;
      if (stack.length === 0) {
        spans.push({ start: i, end, object: false, duplicate: undefined, numbers: undefined });
      } else if (end - i >= 16 || hasFloatSyntax(text.slice(i, end))) {
        // 15 digits are always a safe integer: only longer literals and floats need the source
        if (stack.length === 1 && stack[0] !== null) numbers?.push([key, text.slice(i, end)]);
        else numbers = undefined;
      }
      i = end;
      continue;
    }
    i++;
  }
  return { spans, clean: stack.length === 0, tooDeep: false };
}

// Float literals by holder (the object or array that received them) and key. Keyed weakly by the
// parsed containers, so entries live exactly as long as the values they describe.
const floatKeys = new WeakMap<object, Set<string>>();

function markFloat(holder: object, key: string): void {
  let keys = floatKeys.get(holder);
  if (keys === undefined) floatKeys.set(holder, (keys = new Set()));
  keys.add(key);
}

function revive(this: unknown, key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== 'number' || context?.source === undefined) return value;
  const source = context.source;
  if (hasFloatSyntax(source)) {
    markFloat(this as object, key);
    return value;
  }
  return Number.isSafeInteger(value) ? value : JSON.rawJSON(source);
}

/**
 * `JSON.parse` with exact integers: literals beyond ±(2^53-1) come back as {@link RawJson}, and
 * float literals are remembered ({@link isFloatLiteral}). Throws `SyntaxError` as `JSON.parse`
 * does. Duplicate keys are not detected here: see {@link scanJson}.
 *
 * With the text's {@link JsonSpan} from `scanJson`, a flat object (the GoFlow2 case) skips the
 * reviver, which costs most of the parse: plain `JSON.parse`, then the few literals the scan
 * found are put right from their source text, with the same result.
 */
export function parseJson(text: string, span?: JsonSpan): unknown {
  if (span?.numbers === undefined || span.duplicate !== undefined) return JSON.parse(text, revive);
  const value = JSON.parse(text) as Record<string, unknown>;
  for (const [key, source] of span.numbers) {
    if (hasFloatSyntax(source)) markFloat(value, key);
    else if (!Number.isSafeInteger(value[key])) value[key] = JSON.rawJSON(source);
  }
  return value;
}

/** Whether `holder[key]` was written as a float literal (`1.0`, `1e3`) in the parsed text. */
export function isFloatLiteral(holder: object, key: string | number): boolean {
  return floatKeys.get(holder)?.has(String(key)) ?? false;
}

/** Whether `value` is a `JSON.rawJSON` value (an exact integer beyond 2^53 here). */
export function isRawJson(value: unknown): value is RawJson {
  return typeof value === 'object' && value !== null && JSON.isRawJSON(value);
}

/** An exact integer as a number when it is safe, else as {@link RawJson}. */
export function exactInteger(value: bigint): number | RawJson {
  return value >= -9007199254740991n && value <= 9007199254740991n
    ? Number(value)
    : (JSON.rawJSON(value.toString()) as RawJson);
}
