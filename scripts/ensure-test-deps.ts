/**
 * Installs the Debian tools the test suite drives (run by `npm test` through `pretest`, and by CI):
 * softflowd (a real NetFlow v5/v9/IPFIX exporter) and tshark (an independent decoder of its export),
 * and unzip; then fetches and unpacks the Elasticsearch versions the output tests run against
 * (scripts/ensure-elasticsearch.ts: cached in ~/.m2, a no-op once done).
 * Nothing is installed by hand: on a machine without them this script installs them when it can
 * (root with apt-get), and otherwise says exactly what is missing and how to get it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  ELASTICSEARCH_8_VERSION,
  ELASTICSEARCH_VERSION,
  ensureElasticsearch,
} from './ensure-elasticsearch.ts';

const TOOLS: Record<string, string> = { softflowd: 'softflowd', tshark: 'tshark', unzip: 'unzip' };

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

const missing = Object.keys(TOOLS).filter((tool) => !has(tool));
if (missing.length > 0) {
  const packages = missing.map((tool) => TOOLS[tool]);
  const root = process.getuid?.() === 0;
  if (!root || !has('apt-get')) {
    process.stderr.write(
      `The tests need ${missing.join(', ')}. Install them with: sudo apt-get install -y ${packages.join(' ')}\n`,
    );
    process.exit(1);
  }
  process.stderr.write(`installing test tools: ${packages.join(' ')}\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
    stdio: 'inherit',
    env,
  });
}

for (const version of [ELASTICSEARCH_VERSION, ELASTICSEARCH_8_VERSION]) {
  try {
    await ensureElasticsearch(version);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
}
