/** Reads what flowship's file output wrote: every NDJSON document in a directory, file by file. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Doc = Record<string, any>;

/**
 * The documents under `dir` (none if it does not exist yet), in file-name then line order. With
 * `tolerateTornLines`, a line that is not JSON (the torn last line of a writer killed with
 * SIGKILL) is skipped instead of failing the test.
 */
export function readOutputDocs(dir: string, options: { tolerateTornLines?: boolean } = {}): Doc[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const docs: Doc[] = [];
  for (const name of names) {
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (line === '') continue;
      try {
        docs.push(JSON.parse(line) as Doc);
      } catch (err) {
        if (!options.tolerateTornLines) throw err;
      }
    }
  }
  return docs;
}
