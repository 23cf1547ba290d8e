/**
 * `custom_definitions`: user dictionaries in the Logstash netflow codec format, merged over the
 * built-in dictionary in the order given (NETFLOW.md 3.5). A file is either NetFlow v9 shaped
 * (top-level id -> [type, name], all PEN 0) or IPFIX shaped (PEN -> id -> [type, name]); the
 * format and its traps are handled by the parser the field-table generator also uses.
 */

import { readFileSync } from 'node:fs';
import { FlowshipError } from '../../../util/errors.ts';
import type { IeType } from './types.ts';
import { parseYamlDictionary } from './yaml-dictionary.ts';

/** One definition from a `custom_definitions` file. */
export interface CustomDefinition {
  /** 0 for every entry of a NetFlow v9 shaped file. */
  readonly pen: number;
  readonly id: number;
  readonly type: IeType;
  /**
   * Empty for a literal `[:skip]`, which defines nothing and does not replace a built-in
   * definition (Filebeat ignores it the same way).
   */
  readonly name: string;
  /** The file it came from, for diagnostics. */
  readonly source: string;
}

/**
 * Reads and validates every file, in order. Definitions come back in file order, then entry
 * order, which is the merge order: a later definition of the same (PEN, id) wins.
 *
 * @throws FlowshipError `FLOWSHIP_CUSTOM_DEFINITIONS` naming the file (and line, PEN and id
 *   where the problem is an entry): unreadable file, invalid YAML, mixed shapes, a repeated id,
 *   an unknown type, a malformed entry.
 */
export function loadCustomDefinitions(paths: readonly string[]): CustomDefinition[] {
  const definitions: CustomDefinition[] = [];
  for (const source of paths) {
    let text: string;
    try {
      text = readFileSync(source, 'utf8');
    } catch (cause) {
      const reason = (cause as NodeJS.ErrnoException).code ?? String(cause);
      throw new FlowshipError(
        'FLOWSHIP_CUSTOM_DEFINITIONS',
        `${source}: cannot read custom definitions (${reason})`,
        {
          cause,
        },
      );
    }
    for (const entry of parseYamlDictionary(text, { source, duplicates: 'error' })) {
      definitions.push({ ...entry, source });
    }
  }
  return definitions;
}
