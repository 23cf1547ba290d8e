/**
 * Filebeat's common input options `fields` and `fields_under_root`, shared by every normalizer:
 * the fields go under `fields`, or are merged into the document root with their values winning.
 */
import type { EcsDocument } from '../pipeline/event.ts';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    !JSON.isRawJSON(value)
  );
}

/** libbeat's DeepUpdate with overwrite: maps merge into maps, anything else replaces. */
function mergeDeep(target: Record<string, unknown>, source: Readonly<Record<string, unknown>>): void {
  for (const [key, value] of Object.entries(source)) {
    const current = target[key];
    if (isPlainObject(value) && isPlainObject(current)) {
      // copy before merging: a document's objects may be shared (data_stream, tags) or frozen
      const merged = { ...current };
      mergeDeep(merged, value);
      target[key] = merged;
    } else {
      target[key] = value;
    }
  }
}

export interface CommonFields {
  readonly fields: Readonly<Record<string, unknown>>;
  readonly underRoot: boolean;
}

/** The option resolved once: undefined when there is nothing to add. */
export function commonFields(
  fields: Readonly<Record<string, unknown>> | undefined,
  underRoot = false,
): CommonFields | undefined {
  return fields !== undefined && Object.keys(fields).length > 0 ? { fields, underRoot } : undefined;
}

export function applyCommonFields(doc: EcsDocument, common: CommonFields | undefined): void {
  if (common === undefined) return;
  if (common.underRoot) mergeDeep(doc, common.fields);
  else doc.fields = common.fields;
}
