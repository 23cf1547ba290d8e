/**
 * The (PEN, element id) -> definition dictionary the decoders look fields up in (NETFLOW.md 3.1,
 * fixtures/reference/README.md "Reproducing Filebeat's dictionary exactly").
 *
 *   layer (later wins)                         filebeat            extended
 *   -----------------------------------------  ------------------  -----------------------------
 *   generated ipfix.yaml (named entries)       minus PEN 9 and     all of it, Gigamon included
 *                                              FILEBEAT_EXCLUDED_*
 *   IANA types/names, ids 434-482, NSEL        yes                 yes
 *   Filebeat's PEN 9                           yes                 yes (over the YAML's PEN 9)
 *   vendor type overrides (5951/193)           yes                 yes
 *   custom_definitions, in order               yes                 yes
 *
 * So `extended` is `filebeat` plus entries `filebeat` lacks, never a different type or name for
 * an entry `filebeat` has (until custom definitions, which apply to both alike).
 */

import type { CustomDefinition } from './custom.ts';
import {
  FILEBEAT_EXCLUDED_IDS,
  FILEBEAT_EXCLUDED_PENS,
  FILEBEAT_PEN9,
  FILEBEAT_VENDOR_TYPE_OVERRIDES,
  IANA_ADDITIONS,
  IANA_TYPE_OVERRIDES,
  NSEL_FIELDS,
} from './filebeat.ts';
import { IPFIX_YAML } from './generated/ipfix-yaml.ts';
import { toKey } from './names.ts';
import { type Compatibility, type Dictionary, type FieldDef, fieldKey, type IeType } from './types.ts';

export interface BuildDictionaryOptions {
  readonly compatibility: Compatibility;
  /** Merged last, in order; see {@link CustomDefinition} for how `[:skip]` is treated. */
  readonly custom?: readonly CustomDefinition[];
}

/** A {@link Dictionary} that can also be listed (tests, diagnostics, docs). */
export interface FieldDictionary extends Dictionary {
  readonly size: number;
  entries(): IterableIterator<readonly [pen: number, id: number, def: FieldDef]>;
}

const CISCO = 9;

class MapDictionary implements FieldDictionary {
  readonly #defs: ReadonlyMap<number, FieldDef>;

  constructor(defs: ReadonlyMap<number, FieldDef>) {
    this.#defs = defs;
  }

  get size(): number {
    return this.#defs.size;
  }

  lookup(pen: number, id: number): FieldDef | undefined {
    return this.#defs.get(fieldKey(pen, id));
  }

  *entries(): IterableIterator<readonly [pen: number, id: number, def: FieldDef]> {
    for (const [k, def] of this.#defs) yield [Math.floor(k / 0x10000), k % 0x10000, def] as const;
  }
}

export function buildDictionary(options: BuildDictionaryOptions): FieldDictionary {
  const { compatibility, custom = [] } = options;
  const defs = new Map<number, FieldDef>(builtIn(compatibility));
  for (const c of custom) {
    // A literal `[:skip]` defines nothing; Filebeat does not let it remove a definition either.
    if (c.name === '') continue;
    defs.set(fieldKey(c.pen, c.id), define(c.name, c.type));
  }
  return new MapDictionary(defs);
}

const defaults = new Map<Compatibility, FieldDictionary>();

/** The built-in dictionary without custom definitions, built once per mode. */
export function defaultDictionary(compatibility: Compatibility): FieldDictionary {
  let dictionary = defaults.get(compatibility);
  if (dictionary === undefined) {
    dictionary = new MapDictionary(builtIn(compatibility));
    defaults.set(compatibility, dictionary);
  }
  return dictionary;
}

const builtIns = new Map<Compatibility, ReadonlyMap<number, FieldDef>>();

/** Layers everything but custom definitions (see the table at the top). */
function builtIn(compatibility: Compatibility): ReadonlyMap<number, FieldDef> {
  const cached = builtIns.get(compatibility);
  if (cached !== undefined) return cached;

  const filebeat = compatibility === 'filebeat';
  const excludedPens = new Set(FILEBEAT_EXCLUDED_PENS);
  const excluded = (pen: number, id: number): boolean =>
    excludedPens.has(pen) ||
    pen === CISCO ||
    (FILEBEAT_EXCLUDED_IDS.get(pen)?.some(([first, last]) => id >= first && id <= last) ?? false);

  const defs = new Map<number, FieldDef>();
  for (const [pen, id, type, name] of IPFIX_YAML) {
    // Nameless `[:skip]` rows (PEN 0 ids 0, 210, 291-293; PEN 29305 ids 291-293) define nothing;
    // the IANA layer below names the PEN 0 ones Filebeat has.
    if (name === '') continue;
    if (filebeat && excluded(pen, id)) continue;
    defs.set(fieldKey(pen, id), define(name, type));
  }

  for (const [id, type, name] of IANA_TYPE_OVERRIDES) {
    const base = defs.get(fieldKey(0, id))?.name ?? name;
    if (base === undefined) throw new Error(`IANA type override for id ${id} has no name`);
    defs.set(fieldKey(0, id), define(base, type));
  }
  for (const [id, name, type] of [...IANA_ADDITIONS, ...NSEL_FIELDS]) {
    defs.set(fieldKey(0, id), define(name, type));
  }
  for (const [id, name, type] of FILEBEAT_PEN9) defs.set(fieldKey(CISCO, id), define(name, type));
  for (const [pen, id, type] of FILEBEAT_VENDOR_TYPE_OVERRIDES) {
    const base = defs.get(fieldKey(pen, id));
    if (base === undefined) throw new Error(`vendor type override for PEN ${pen} id ${id} has no entry`);
    defs.set(fieldKey(pen, id), define(base.name, type));
  }

  builtIns.set(compatibility, defs);
  return defs;
}

const keys = new Map<string, string>();

function define(name: string, type: IeType): FieldDef {
  let key = keys.get(name);
  if (key === undefined) {
    key = toKey(name);
    keys.set(name, key);
  }
  return Object.freeze({ name, key, type });
}
