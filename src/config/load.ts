/**
 * Loads the configuration: YAML (flowship.yml by default) -> tree with `${VAR}` expanded and dotted
 * keys nested -> `-E key=value` overrides -> schema (validation and defaults) -> absolute paths.
 *
 * Every problem is collected, not only the first, and reported in one ConfigError as
 * `file:line:column: path.to.key: message` (`-E key: path.to.key: message` for an override).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../util/errors.ts';
import { problemFromIssue } from './issues.ts';
import { applyOverride } from './overrides.ts';
import { type Config, configSchema, disabledPaths, resolvePaths } from './schema.ts';
import {
  type BuildState,
  buildValue,
  type ConfigMap,
  formatPath,
  formatProblem,
  isConfigMap,
  Locations,
  type Origin,
  type Path,
  type Problem,
  parseYaml,
} from './tree.ts';

export const DEFAULT_CONFIG_FILE = 'flowship.yml';

export interface LoadConfigOptions {
  /** The configuration file, relative to `cwd`; `flowship.yml` unless `text` is given. */
  file?: string;
  /** The configuration itself; `file` then only names it in messages and anchors relative paths. */
  text?: string;
  /** `-E key=value` settings, applied in order after the file. */
  overrides?: readonly string[];
  /** Variables for `${VAR}`; `process.env` by default. */
  env?: NodeJS.ProcessEnv;
  /** The directory relative paths start from; `process.cwd()` by default. */
  cwd?: string;
}

/** Loads, validates and resolves the configuration. Throws ConfigError listing every problem. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const file = options.file ?? (options.text === undefined ? DEFAULT_CONFIG_FILE : undefined);
  const name = file ?? '<config>';
  const configDir = file === undefined ? cwd : dirname(resolve(cwd, file));
  let text = options.text;
  if (text === undefined) {
    try {
      text = readFileSync(resolve(cwd, name), 'utf8');
    } catch (error) {
      throw new ConfigError([`${name}: cannot read the configuration: ${(error as Error).message}`]);
    }
  }

  const rootOrigin: Origin = { file: name, line: 1, col: 1 };
  const state: BuildState = {
    env: options.env ?? process.env,
    locations: new Locations(rootOrigin),
    problems: [],
    unresolved: [],
  };
  const { source, problems: syntax } = parseYaml(text, (lines, offset) => ({
    file: name,
    ...lines.linePos(offset),
  }));
  if (syntax.length > 0) throw new ConfigError(report(syntax));
  const contents = source.document.contents;
  const built = contents === null ? {} : buildValue(contents, [], rootOrigin, source, state);
  if (built !== null && !isConfigMap(built)) {
    const problem = { origin: rootOrigin, path: [], message: 'the configuration must be a map of settings' };
    throw new ConfigError(report([problem]));
  }
  const tree: ConfigMap = built ?? {};
  const overrides = options.overrides ?? [];
  for (const spec of overrides) applyOverride(tree, spec, state);

  const result = configSchema.safeParse(tree, { reportInput: true });
  const problems = [...state.problems];
  for (const issue of result.error?.issues ?? []) {
    // A value whose variable was missing is already reported; its validation would only add noise.
    if (!state.unresolved.some((path) => isWithin(issue.path, path))) {
      problems.push(problemFromIssue(issue, state.locations));
    }
  }
  const disabled = disabledPaths(tree);
  const counted = problems.filter((problem) => !disabled.some((path) => isWithin(problem.path, path)));
  if (counted.length > 0) throw new ConfigError(report(counted, overrides));
  // Only filtered issues remain: still invalid, so say what zod found rather than nothing.
  if (!result.success)
    throw new ConfigError(
      report(
        result.error.issues.map((issue) => problemFromIssue(issue, state.locations)),
        overrides,
      ),
    );
  return resolvePaths(result.data, { cwd, configDir });
}

function isWithin(path: Path, ancestor: Path): boolean {
  const prefix = formatPath(ancestor);
  const full = formatPath(path);
  return full === prefix || full.startsWith(`${prefix}.`);
}

/** File positions in reading order, then overrides in the order given; each problem once. */
function report(problems: readonly Problem[], overrides: readonly string[] = []): string[] {
  const keys = overrides.map((spec) => spec.split('=')[0].trim());
  const rank = (origin: Origin) =>
    'override' in origin ? [1, keys.indexOf(origin.override), 0] : [0, origin.line, origin.col];
  const sorted = [...problems].sort((a, b) => {
    const [x, y] = [rank(a.origin), rank(b.origin)];
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  });
  return [...new Set(sorted.map(formatProblem))];
}
