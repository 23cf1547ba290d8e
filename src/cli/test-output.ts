/**
 * `flowship test output`: connect to the configured output and say what was found, step by
 * step as Filebeat's `test output` does. Exit 0 when documents could be shipped, 1 otherwise.
 *
 *   elasticsearch: https://es.example:9200
 *     connection... OK
 *     TLS... OK (verification: full, 1 CA file)
 *     auth... api_key
 *     version... 9.5.3 OK
 *     index template logs-netflow.log... current (version 1)
 *     index template logs-goflow2.sflow... missing: `flowship setup` (or `run`) installs it
 */
import { access, constants } from 'node:fs/promises';
import { loadConfig } from '../config/load.ts';
import type { Config, ElasticsearchOutputConfig } from '../config/schema.ts';
import {
  checkServerVersion,
  connectionErrorText,
  displayUrl,
  hostUrl,
} from '../outputs/elasticsearch/connection.ts';
import { templateStates } from '../outputs/elasticsearch/setup.ts';
import { buildConnection, templatesFor } from './elasticsearch.ts';

export interface TestOutputOptions {
  readonly configFile?: string;
  readonly overrides: readonly string[];
}

const say = (text: string) => process.stdout.write(`${text}\n`);

function authKind(out: ElasticsearchOutputConfig): string {
  if (out.api_key !== undefined) return 'api_key';
  if (out.username !== undefined) return `basic (user ${out.username})`;
  if (out.cloud.auth !== undefined) return 'basic (cloud.auth)';
  return 'none';
}

async function testElasticsearch(config: Config, out: ElasticsearchOutputConfig): Promise<number> {
  const target =
    out.cloud.id !== undefined
      ? `cloud.id ${out.cloud.id.split(':')[0]}`
      : (out.hosts ?? []).map(displayUrl).join(', ');
  say(`elasticsearch: ${target}`);
  const connection = buildConnection(out);
  try {
    let server: Awaited<ReturnType<typeof connection.probe>>;
    try {
      server = await connection.probe(10_000);
    } catch (err) {
      say(`  connection... ERROR ${connectionErrorText(err)}`);
      return 1;
    }
    say('  connection... OK');
    const https =
      out.cloud.id !== undefined || (out.hosts ?? []).some((h) => hostUrl(h).startsWith('https:'));
    if (https) {
      const cas = out.ssl.certificate_authorities.length;
      const verification = out.ssl.verification_mode;
      say(
        `  TLS... ${verification === 'none' ? 'WARN verification off' : 'OK'} (verification: ${verification}${cas > 0 ? `, ${cas} CA file${cas === 1 ? '' : 's'}` : ''})`,
      );
    } else {
      say('  TLS... WARN not used (http)');
    }
    say(`  auth... ${authKind(out)}`);
    try {
      checkServerVersion(server);
      say(`  version... ${server.version} OK`);
    } catch (err) {
      say(`  version... ERROR ${(err as Error).message}`);
      return 1;
    }
    for (const report of await templateStates(connection, templatesFor(config))) {
      const detail =
        report.state === 'current'
          ? `current (version ${report.version})`
          : report.state === 'missing'
            ? 'missing: `flowship setup` (or `run`) installs it'
            : report.state === 'outdated'
              ? `outdated (version ${report.installedVersion}, this flowship has ${report.version}): run \`flowship setup\``
              : report.state === 'newer'
                ? `newer (version ${report.installedVersion}) than this flowship's (${report.version})`
                : 'installed by something else (the Elastic integration?); `flowship setup --overwrite` replaces it';
      say(`  index template ${report.name}... ${detail}`);
    }
    return 0;
  } finally {
    await connection.close();
  }
}

export async function testOutput(options: TestOutputOptions): Promise<number> {
  const config = loadConfig({ file: options.configFile, overrides: [...options.overrides] });
  const out = config.output;
  switch (out.type) {
    case 'elasticsearch':
      return testElasticsearch(config, out);
    case 'file':
      say(`file: ${out.path}`);
      try {
        await access(out.path, constants.W_OK);
        say('  directory... OK (writable)');
      } catch {
        say('  directory... WARN missing or not writable yet (run creates it when it can)');
      }
      return 0;
    case 'console':
      say('console: standard output... OK');
      return 0;
  }
}
