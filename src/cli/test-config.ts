/**
 * `flowship test config`: load and validate the configuration, including what only the inputs
 * check when they start (custom definitions files) and what `run` refuses (runnable.ts), and print
 * `Config OK` or every problem.
 */
import { loadConfig } from '../config/load.ts';
import { buildNetflowParts } from '../inputs/netflow/parts.ts';
import { checkRunnable } from './runnable.ts';

export interface TestConfigOptions {
  readonly configFile?: string;
  readonly overrides: readonly string[];
}

export function testConfig(options: TestConfigOptions): number {
  // ConfigError (every problem with file:line:column) propagates to main, which prints it
  const config = loadConfig({ file: options.configFile, overrides: [...options.overrides] });
  for (const input of config.flowship.inputs) if (input.type === 'netflow') buildNetflowParts(input);
  // what `run` refuses, `test config` refuses too (FlowshipError: main prints it, exit 1)
  checkRunnable(config);
  process.stdout.write('Config OK\n');
  return 0;
}
