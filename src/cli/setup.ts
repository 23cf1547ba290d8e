/**
 * `flowship setup`: install the index templates of both data streams into the configured
 * Elasticsearch. Idempotent: a template already current is left as it is. `--overwrite` puts
 * them even over a template of the same name that flowship did not install.
 */
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { checkServerVersion, connectionErrorText } from '../outputs/elasticsearch/connection.ts';
import { installTemplates } from '../outputs/elasticsearch/setup.ts';
import { FlowshipError } from '../util/errors.ts';
import { buildConnection, templatesFor } from './elasticsearch.ts';

export interface SetupOptions {
  readonly configFile?: string;
  readonly overrides: readonly string[];
  readonly overwrite?: boolean;
}

export function elasticsearchConfig(config: Config, command: string) {
  if (config.output.type !== 'elasticsearch') {
    throw new FlowshipError(
      'FLOWSHIP_CONFIG',
      `${command} needs output.elasticsearch; the configured output is output.${config.output.type}`,
    );
  }
  return config.output;
}

export async function setup(options: SetupOptions): Promise<number> {
  const config = loadConfig({ file: options.configFile, overrides: [...options.overrides] });
  const out = elasticsearchConfig(config, 'setup');
  const connection = buildConnection(out);
  try {
    const server = await connection.probe();
    checkServerVersion(server);
    process.stdout.write(`Elasticsearch ${server.version}\n`);
    const done = await installTemplates(connection, templatesFor(config), { overwrite: options.overwrite });
    for (const { name, action } of done) {
      const note =
        action === 'kept-foreign'
          ? ' (installed by something else, e.g. the Elastic integration; --overwrite replaces it)'
          : action === 'kept-newer'
            ? ' (a newer flowship installed it)'
            : '';
      process.stdout.write(`index template ${name}: ${action}${note}\n`);
    }
    process.stdout.write('Index setup finished.\n');
    return 0;
  } catch (err) {
    if (err instanceof FlowshipError) throw err;
    throw new FlowshipError('FLOWSHIP_OUTPUT', `cannot reach Elasticsearch: ${connectionErrorText(err)}`, {
      cause: err,
    });
  } finally {
    await connection.close();
  }
}
