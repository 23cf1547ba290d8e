/**
 * `-E key=value` overrides, as in Filebeat: `key` is a dotted path (`output.file.path`), where a
 * number indexes a list (`flowship.inputs.0.port`; the index one past the end appends); `value`
 * is YAML (`9995` is a number, `[a, b]` a list, `{path: /tmp/x}` a map) and may use `${VAR}`.
 * A map merges into the map already there; anything else replaces what was there. Settings that
 * do not exist yet are created.
 */
import { isMap } from 'yaml';
import {
  type BuildState,
  buildValue,
  type ConfigMap,
  getOwn,
  isConfigMap,
  type Origin,
  parseYaml,
  setOwn,
  type Value,
} from './tree.ts';

const INDEX = /^\d+$/;

export function applyOverride(root: ConfigMap, spec: string, state: BuildState): void {
  const equals = spec.indexOf('=');
  // Messages name the key and never echo the value, which may be a secret; without `=`, the key
  // ends where a value would have started (`api_key:abc`, `password abc`).
  const key = (equals < 0 ? spec.split(/[:\s]/, 1)[0] : spec.slice(0, equals)).trim();
  const origin: Origin = { override: key };
  if (equals < 0 || key === '') {
    state.problems.push({ origin, path: [], message: 'expected -E key=value' });
    return;
  }
  const segments = key.split('.').map((segment) => segment.trim());
  if (segments.some((segment) => segment === '')) {
    state.problems.push({ origin, path: [], message: `invalid key '${key}'` });
    return;
  }
  const { source, problems } = parseYaml(spec.slice(equals + 1), () => origin);
  if (problems.length > 0) {
    state.problems.push({
      origin,
      path: segments,
      message: `the value is not valid YAML: ${problems[0].message}`,
    });
    return;
  }

  let parent: ConfigMap | Value[] = root;
  const path: (string | number)[] = [];
  for (const [i, segment] of segments.entries()) {
    let slot: string | number = segment;
    if (Array.isArray(parent)) {
      if (!INDEX.test(segment)) {
        state.problems.push({ origin, path, message: `is a list; '${segment}' is not an index` });
        return;
      }
      slot = Number(segment);
      if (slot > parent.length) {
        state.problems.push({
          origin,
          path,
          message: `index ${slot} is out of range: the list has ${parent.length} item(s)`,
        });
        return;
      }
    }
    path.push(slot);
    const existing = read(parent, slot);
    if (i === segments.length - 1) {
      const merge = isConfigMap(existing) && isMap(source.document.contents);
      if (!merge) state.locations.clear(path);
      const value = buildValue(source.document.contents, path, origin, source, state);
      if (merge && isConfigMap(value)) mergeInto(existing, value);
      else write(parent, slot, value);
      return;
    }
    if (isConfigMap(existing) || Array.isArray(existing)) {
      parent = existing;
    } else {
      const created: ConfigMap | Value[] = INDEX.test(segments[i + 1]) ? [] : {};
      state.locations.clear(path);
      state.locations.set(path, origin, origin);
      write(parent, slot, created);
      parent = created;
    }
  }
}

function read(container: ConfigMap | Value[], slot: string | number): Value | undefined {
  return Array.isArray(container) ? container[slot as number] : getOwn(container, String(slot));
}

function write(container: ConfigMap | Value[], slot: string | number, value: Value): void {
  if (Array.isArray(container)) container[slot as number] = value;
  else setOwn(container, String(slot), value);
}

/** Leaves of `update` replace those of `target`; maps in both merge. */
function mergeInto(target: ConfigMap, update: ConfigMap): void {
  for (const [key, value] of Object.entries(update)) {
    const existing = getOwn(target, key);
    if (isConfigMap(existing) && isConfigMap(value)) mergeInto(existing, value);
    else setOwn(target, key, value);
  }
}
