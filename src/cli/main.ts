/**
 * `flowship` command-line entry: parses argv and dispatches to one file per command.
 * Returns the process exit code; only bin/flowship.js touches `process.exit`.
 */
import { parseArgs } from 'node:util';
import { ConfigError, FlowshipError } from '../util/errors.ts';
import { version } from './version.ts';

export { version };

const USAGE = `Usage: flowship <command> [options]

Commands:
  run [-c FILE] [-E key=value ...]       start the configured inputs and output (until SIGINT/SIGTERM)
  decode FILE... [--exporter IP:PORT] [--format ndjson] [-c FILE] [-E key=value ...]
                                         decode pcap/pcapng/.dat captures into ECS documents (NDJSON)
  setup [--overwrite] [-c FILE] [-E key=value ...]
                                         install the index templates into Elasticsearch
  test config [-c FILE] [-E key=value ...]
                                         validate the configuration
  test output [-c FILE] [-E key=value ...]
                                         connect to the output and report what was found
  version                                print the version

Options:
  -c, --config FILE    configuration file (default: flowship.yml in the working directory)
  -E key=value         override one setting (dotted path, YAML value), repeatable
`;

const COMMON = {
  config: { type: 'string', short: 'c' },
  E: { type: 'string', multiple: true, default: [] as string[] },
  help: { type: 'boolean', short: 'h' },
} as const;

function usageError(message: string): FlowshipError {
  return new FlowshipError('FLOWSHIP_USAGE', message);
}

async function dispatch(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'version':
    case '--version':
      process.stdout.write(`flowship ${version()}\n`);
      return 0;
    case 'run': {
      const { values } = parseArgs({ args: rest, options: COMMON, strict: true });
      if (values.help) break;
      const { run } = await import('./run.ts');
      return run({ configFile: values.config, overrides: values.E });
    }
    case 'decode': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { ...COMMON, exporter: { type: 'string' }, format: { type: 'string', default: 'ndjson' } },
        allowPositionals: true,
        strict: true,
      });
      if (values.help) break;
      if (values.format !== 'ndjson') throw usageError(`unknown --format '${values.format}' (only ndjson)`);
      const { decode } = await import('./decode.ts');
      return decode({
        files: positionals,
        configFile: values.config,
        overrides: values.E,
        exporter: values.exporter,
      });
    }
    case 'test': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: COMMON,
        allowPositionals: true,
        strict: true,
      });
      if (values.help) break;
      if (positionals.length === 1 && positionals[0] === 'output') {
        const { testOutput } = await import('./test-output.ts');
        return testOutput({ configFile: values.config, overrides: values.E });
      }
      if (positionals[0] !== 'config' || positionals.length !== 1) {
        throw usageError(
          `unknown test '${positionals.join(' ')}' (try: flowship test config, flowship test output)`,
        );
      }
      const { testConfig } = await import('./test-config.ts');
      return testConfig({ configFile: values.config, overrides: values.E });
    }
    case 'setup': {
      const { values } = parseArgs({
        args: rest,
        options: { ...COMMON, overwrite: { type: 'boolean', default: false } },
        strict: true,
      });
      if (values.help) break;
      const { setup } = await import('./setup.ts');
      return setup({ configFile: values.config, overrides: values.E, overwrite: values.overwrite });
    }
    case undefined:
      process.stderr.write(USAGE);
      return 2;
    case '-h':
    case '--help':
    case 'help':
      break;
    default:
      throw usageError(`unknown command '${command}'`);
  }
  process.stdout.write(USAGE);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(
        `flowship: invalid configuration:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`,
      );
      return 1;
    }
    if (err instanceof FlowshipError) {
      process.stderr.write(`flowship: ${err.message}\n`);
      if (err.code === 'FLOWSHIP_USAGE') process.stderr.write(`\n${USAGE}`);
      return err.code === 'FLOWSHIP_USAGE' ? 2 : 1;
    }
    // parseArgs reports unknown options with a TypeError carrying an ERR_PARSE_ARGS_* code
    if (err instanceof TypeError && String((err as { code?: string }).code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`flowship: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
}
