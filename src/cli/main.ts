/**
 * `flowship` command-line entry: parses argv and dispatches to one file per command.
 * Returns the process exit code; only bin/flowship.js touches `process.exit`.
 */
import { readFileSync } from 'node:fs';

const USAGE = `Usage: flowship <command> [options]

Commands:
  run [-c FILE] [-E key=value ...]     start the configured inputs and output
  decode FILE... [--exporter IP:PORT] [-c FILE]
                                       decode captures into ECS documents (NDJSON on stdout)
  test config [-c FILE]                validate the configuration
  version                              print the version
`;

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'version':
      process.stdout.write(`flowship ${version()}\n`);
      return 0;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`flowship: unknown command '${command}' ${rest.length}\n${USAGE}`);
      return 2;
  }
}
