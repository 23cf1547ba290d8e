/** Helpers for the configuration tests. */
import assert from 'node:assert/strict';
import { type LoadConfigOptions, loadConfig } from '../../src/config/load.ts';
import type { Config, NetflowInputConfig } from '../../src/config/schema.ts';
import { ConfigError } from '../../src/util/errors.ts';

/** The smallest valid configuration: one netflow input, the console output. */
export const MINIMAL = 'flowship.inputs:\n  - type: netflow\noutput.console: {}\n';

/** Loads `text` as `flowship.yml` with an empty environment (unless given) and a fixed cwd. */
export function load(text: string, options: Omit<LoadConfigOptions, 'text'> = {}) {
  return loadConfig({ file: 'flowship.yml', cwd: '/srv/flowship', env: {}, ...options, text });
}

/** The problems loading `text` reports; fails when it loads. */
export function problems(text: string, options: Omit<LoadConfigOptions, 'text'> = {}): string[] {
  try {
    load(text, options);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    assert.equal(error.code, 'FLOWSHIP_CONFIG');
    assert.equal(error.message, error.problems.join('\n'));
    return error.problems;
  }
  assert.fail('expected the configuration to be rejected');
}

/** The `index`-th input, which must be a netflow input (narrows the type for the assertions). */
export function netflowInput(config: Config, index = 0): NetflowInputConfig {
  const input = config.flowship.inputs[index];
  assert.equal(input.type, 'netflow');
  return input as NetflowInputConfig;
}
