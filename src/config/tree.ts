/**
 * The configuration as a plain tree of values, before validation, with the place every key and
 * value came from.
 *
 * YAML is turned into the tree here, and on the way:
 *   - dotted keys become nested maps (`output.file: {path: x}` is `output: {file: {path: x}}`),
 *     merged with maps written out in full; setting the same leaf twice is an error;
 *   - `${VAR}` references in values are expanded (expand.ts). An unquoted value that is exactly one
 *     reference is typed like YAML would type it (`port: ${PORT}` is a number, `${HOSTS}` holding
 *     `[a, b]` is a list); anything else stays a string;
 *   - an unquoted number or boolean is one only when written canonically (`2055`, `1.5`, `true`).
 *     Otherwise (`0600`, `0x1F`, `1e3`, `True`) the text is kept, and the schema parses it for
 *     settings that take a number, so a string setting (a password) is exactly what was written:
 *     `0123` stays `0123`, never 83 (Go's YAML) or 123 (YAML 1.2). File modes read `0600` as octal.
 */
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type ParseOptions,
  parseDocument,
  type Scalar,
  type SchemaOptions,
  type YAMLMap,
} from 'yaml';
import { type ExpansionProblem, expandVariables, hasReference } from './expand.ts';

export type Value = null | string | number | boolean | Value[] | ConfigMap;
export interface ConfigMap {
  [key: string]: Value;
}

/** Keys of maps and indexes of lists from the root, as zod reports them. */
export type Path = readonly PropertyKey[];

/** Where a value came from: a place in a YAML file, or a `-E key=value` override. */
export type Origin =
  | { readonly file: string; readonly line: number; readonly col: number }
  | { readonly override: string };

export interface Problem {
  origin: Origin;
  path: Path;
  message: string;
}

function formatOrigin(origin: Origin): string {
  return 'override' in origin ? `-E ${origin.override}` : `${origin.file}:${origin.line}:${origin.col}`;
}

export function formatPath(path: Path): string {
  return path.map(String).join('.');
}

/** `file:line:column: path.to.key: message` (or `-E key: ...` for an override). */
export function formatProblem(problem: Problem): string {
  const path = formatPath(problem.path);
  return `${formatOrigin(problem.origin)}: ${path === '' ? '' : `${path}: `}${problem.message}`;
}

const YAML_OPTIONS: ParseOptions & SchemaOptions = {
  schema: 'core',
  prettyErrors: false,
  uniqueKeys: true,
};

export function isConfigMap(value: unknown): value is ConfigMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads an own key only: a YAML key named `__proto__` or `constructor` is data, not a prototype. */
export function getOwn(map: ConfigMap, key: string): Value | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

export function setOwn(map: ConfigMap, key: string, value: Value): void {
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Positions of keys and values by path; a path without one takes its nearest ancestor's. */
export class Locations {
  readonly #byPath = new Map<string, { key: Origin; value: Origin }>();

  constructor(root: Origin) {
    this.#byPath.set('', { key: root, value: root });
  }

  set(path: Path, key: Origin, value: Origin): void {
    this.#byPath.set(formatPath(path), { key, value });
  }

  /** Forgets `path` and everything below it (a subtree an override replaced). */
  clear(path: Path): void {
    const prefix = formatPath(path);
    if (prefix === '') return;
    for (const known of this.#byPath.keys()) {
      if (known === prefix || known.startsWith(`${prefix}.`)) this.#byPath.delete(known);
    }
  }

  /** Whether `path` itself was written (rather than left to its default). */
  has(path: Path): boolean {
    return this.#byPath.has(formatPath(path));
  }

  /** Where the key of `path` was written (for unknown keys, missing settings, collisions). */
  key(path: Path): Origin {
    return this.#nearest(path).key;
  }

  /** Where the value of `path` was written (for invalid values). */
  value(path: Path): Origin {
    return this.#nearest(path).value;
  }

  #nearest(path: Path): { key: Origin; value: Origin } {
    for (let n = path.length; n >= 0; n--) {
      const found = this.#byPath.get(formatPath(path.slice(0, n)));
      if (found !== undefined) return found;
    }
    // The root is always present.
    return this.#byPath.get('')!;
  }
}

/** What building a tree from YAML shares across the file and every override. */
export interface BuildState {
  /** undefined: values are taken literally (a variable's own value is never expanded again). */
  env: NodeJS.ProcessEnv | undefined;
  locations: Locations;
  problems: Problem[];
  /** Paths whose value is unknown because a reference failed; validating them only adds noise. */
  unresolved: Path[];
}

/** One YAML source (the file, or the value of one override) being turned into a tree. */
export interface Source {
  document: Document.Parsed;
  text: string;
  origin(offset: number): Origin;
}

/** Parses YAML text; syntax errors come back as problems (the caller decides whether to go on). */
export function parseYaml(text: string, origin: (lines: LineCounter, offset: number) => Origin) {
  const lines = new LineCounter();
  const document = parseDocument(text, { ...YAML_OPTIONS, lineCounter: lines });
  const source: Source = { document, text, origin: (offset) => origin(lines, offset) };
  // After a syntax error the parser resynchronises and reports every later token: only the first
  // is worth reading. Duplicate keys do not derail it, so each of them counts.
  const firstSyntaxError = document.errors.find((error) => error.code !== 'DUPLICATE_KEY');
  const problems = document.errors
    .filter((error) => error.code === 'DUPLICATE_KEY' || error === firstSyntaxError)
    .map(
      // What follows a colon in the parser's message quotes the source (a tag, say): leave it
      // out, since that source may be a secret.
      (error): Problem => ({
        origin: source.origin(error.pos[0]),
        path: [],
        message: error.message.replace(/: .*$/s, ''),
      }),
    );
  return { source, problems };
}

function startOf(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range?.[0];
}

/**
 * Converts a YAML node into a tree value, recording the positions of everything under `path`.
 * `keyOrigin` is where the key naming this value was written.
 */
export function buildValue(
  node: unknown,
  path: Path,
  keyOrigin: Origin,
  source: Source,
  state: BuildState,
): Value {
  return build(node, path, keyOrigin, source, state, new Set());
}

function build(
  node: unknown,
  path: Path,
  keyOrigin: Origin,
  source: Source,
  state: BuildState,
  aliases: Set<unknown>,
): Value {
  const start = startOf(node);
  const valueOrigin = start === undefined ? keyOrigin : source.origin(start);
  state.locations.set(path, keyOrigin, valueOrigin);
  if (isAlias(node)) {
    const target = node.resolve(source.document);
    if (target === undefined || aliases.has(target)) {
      state.problems.push({
        origin: valueOrigin,
        path,
        message: 'unresolved alias (quote a value that starts with *)',
      });
      return null;
    }
    aliases.add(target);
    const value = build(target, path, keyOrigin, source, state, aliases);
    aliases.delete(target);
    return value;
  }
  if (isMap(node)) {
    const map: ConfigMap = {};
    fillMap(map, path, node, source, state, aliases);
    return map;
  }
  if (isSeq(node)) {
    return node.items.map((item, index) => {
      const itemStart = startOf(item);
      return build(
        item,
        [...path, index],
        itemStart === undefined ? valueOrigin : source.origin(itemStart),
        source,
        state,
        aliases,
      );
    });
  }
  if (isScalar(node)) return buildScalar(node, path, keyOrigin, valueOrigin, source, state);
  if (node === null || node === undefined) return null;
  state.problems.push({ origin: valueOrigin, path, message: 'unsupported YAML node' });
  return null;
}

function keyText(node: unknown): string | undefined {
  if (!isScalar(node)) return undefined;
  // The key as written: `0600:` is the key "0600", not 600.
  if (node.type === 'PLAIN' && typeof node.source === 'string') return node.source;
  const value = node.value;
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : undefined;
}

/** Adds the pairs of a YAML map to `target`, expanding dotted keys and merging maps. */
function fillMap(
  target: ConfigMap,
  path: Path,
  node: YAMLMap,
  source: Source,
  state: BuildState,
  aliases: Set<unknown>,
): void {
  pairs: for (const pair of node.items) {
    const keyStart = startOf(pair.key) ?? startOf(node);
    const keyOrigin = keyStart === undefined ? state.locations.value(path) : source.origin(keyStart);
    const key = keyText(pair.key);
    if (key === undefined) {
      state.problems.push({ origin: keyOrigin, path, message: 'keys must be strings' });
      continue;
    }
    const segments = key.split('.');
    if (segments.some((segment) => segment === '')) {
      state.problems.push({ origin: keyOrigin, path, message: `invalid key '${key}'` });
      continue;
    }
    let parent = target;
    let parentPath = path;
    for (const segment of segments.slice(0, -1)) {
      const childPath = [...parentPath, segment];
      const existing = getOwn(parent, segment);
      if (isConfigMap(existing)) {
        parent = existing;
      } else if (existing === undefined || existing === null) {
        const created: ConfigMap = {};
        setOwn(parent, segment, created);
        state.locations.set(childPath, keyOrigin, keyOrigin);
        parent = created;
      } else {
        collision(childPath, keyOrigin, state);
        continue pairs;
      }
      parentPath = childPath;
    }
    const last = segments[segments.length - 1];
    const childPath = [...parentPath, last];
    const existing = getOwn(parent, last);
    const value = isAlias(pair.value) ? pair.value.resolve(source.document) : pair.value;
    if (existing === undefined || existing === null) {
      setOwn(parent, last, build(pair.value, childPath, keyOrigin, source, state, aliases));
    } else if (isConfigMap(existing) && isMap(value)) {
      fillMap(existing, childPath, value, source, state, aliases);
    } else if (!(isConfigMap(existing) && isScalar(value) && value.value === null)) {
      collision(childPath, keyOrigin, state);
    }
  }
}

function collision(path: Path, origin: Origin, state: BuildState): void {
  state.problems.push({
    origin,
    path,
    message: `already set at ${formatOrigin(state.locations.key(path))}`,
  });
}

function buildScalar(
  node: Scalar,
  path: Path,
  keyOrigin: Origin,
  valueOrigin: Origin,
  source: Source,
  state: BuildState,
): Value {
  const value = node.value;
  if (typeof value === 'string') {
    if (state.env === undefined || !hasReference(value)) return value;
    const expansion = expandVariables(value, state.env);
    for (const problem of expansion.problems) {
      state.problems.push({
        origin: source.origin(referenceOffset(node, problem, source)),
        path,
        message: problem.message,
      });
    }
    if (expansion.problems.length > 0) {
      state.unresolved.push(path);
      return null;
    }
    if (expansion.whole && node.type === 'PLAIN')
      return typed(expansion.value, path, keyOrigin, valueOrigin, state);
    return expansion.value;
  }
  if (typeof value === 'number' || typeof value === 'boolean') {
    return node.type === 'PLAIN' && typeof node.source === 'string' ? canonical(node.source, value) : value;
  }
  if (value === null) return value;
  state.problems.push({
    origin: valueOrigin,
    path,
    message: 'unsupported YAML value; use a string, number, boolean, list or map',
  });
  return null;
}

/** Where in the source a failed reference stands, so that the error points at it. */
function referenceOffset(node: Scalar, problem: ExpansionProblem, source: Source): number {
  const [start, end] = node.range!;
  const written = source.text.slice(start, end);
  if (node.type === 'PLAIN' && written === node.value) return start + problem.index;
  const found = written.indexOf(problem.reference);
  return found < 0 ? start : start + found;
}

/**
 * The value of an unquoted scalar that was exactly one reference, typed as Filebeat types it:
 * empty is "not set", `[...]` and `{...}` are YAML flow collections, numbers and booleans are
 * themselves when written canonically; anything else is the string itself. So a string setting
 * (a password) gets back exactly the variable's text: `0123` stays `0123`, never 83.
 */
function typed(text: string, path: Path, keyOrigin: Origin, valueOrigin: Origin, state: BuildState): Value {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  const document = parseDocument(trimmed, YAML_OPTIONS);
  if (document.errors.length > 0) return text;
  const contents = document.contents;
  if (/^[[{]/.test(trimmed) && (isSeq(contents) || isMap(contents))) {
    const source: Source = { document, text: trimmed, origin: () => valueOrigin };
    return buildValue(contents, path, keyOrigin, source, { ...state, env: undefined });
  }
  const scalar = isScalar(contents) ? contents.value : undefined;
  return typeof scalar === 'number' || typeof scalar === 'boolean' ? canonical(text, scalar) : text;
}

/** The number or boolean YAML read from `text` if that is how it would be written, else the text. */
function canonical(text: string, value: number | boolean): Value {
  return String(value) === text.trim() ? value : text;
}
