/**
 * Provides the real Elasticsearch the output tests run against (test/helpers/elasticsearch.ts):
 * the runnable, stripped `integ-test-zip` distribution that Elasticsearch publishes to Maven
 * Central, unpacked once, plus a JDK it runs on and, as root, the user it runs as.
 *
 * - The zip comes from Maven's local repository (~/.m2/repository/org/elasticsearch/distribution/
 *   integ-test-zip/elasticsearch/VERSION/elasticsearch-VERSION.zip); when it is not there,
 *   `mvn dependency:copy` fetches it from Maven Central into that repository, so ~/.m2 is the one
 *   cache CI has to keep (actions/setup-java's `cache: maven` does).
 * - It is unpacked into `~/.cache/flowship/elasticsearch-VERSION/` ($XDG_CACHE_HOME is honoured),
 *   or, as root, into `/var/cache/flowship/elasticsearch-VERSION/`: Elasticsearch refuses to run
 *   as root, and the user it runs as instead cannot reach into root's private home. Unpacking
 *   goes to a temporary directory that is renamed into place, so concurrent test processes and
 *   interrupted runs never see half a distribution. `FLOWSHIP_ES_CACHE=/dir` overrides the place.
 * - The distribution has no bundled JDK: 9.x needs Java 21 or newer, 8.x Java 17 or newer.
 *   $ES_JAVA_HOME is used if it is new enough, else the oldest suitable JDK among $JAVA_HOME and
 *   /usr/lib/jvm/*.
 * - As root, the system user `flowship-es` is created (useradd --system) when missing.
 *
 * Usage: node scripts/ensure-elasticsearch.ts [VERSION...]   (default: the pinned versions; prints
 * `VERSION ES_HOME ES_JAVA_HOME` per version on stdout)
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The Elasticsearch the tests use by default. */
export const ELASTICSEARCH_VERSION = '9.5.3';
/** The 8.x line the output must keep working with. */
export const ELASTICSEARCH_8_VERSION = '8.19.21';
/** The user Elasticsearch runs as when the tests run as root. */
export const ELASTICSEARCH_USER = 'flowship-es';

const GROUP_ID = 'org.elasticsearch.distribution.integ-test-zip';
const ARTIFACT_ID = 'elasticsearch';

export interface ElasticsearchDistribution {
  version: string;
  /** ES_HOME: the unpacked distribution (read-only for the nodes; they get their own config dir). */
  home: string;
  /** ES_JAVA_HOME to start it with. */
  javaHome: string;
  /** Feature version of that JDK (17, 21, 25, ...). */
  javaVersion: number;
  /** The user to run it as (only when running as root), with its ids. */
  user?: { name: string; uid: number; gid: number };
}

export interface EnsureElasticsearchOptions {
  /** Progress messages (default: stderr). */
  log?: (message: string) => void;
}

/** Where unpacked distributions live (see the file comment). */
export function elasticsearchCacheDir(): string {
  const override = process.env.FLOWSHIP_ES_CACHE;
  if (override !== undefined && override !== '') return override;
  if (process.getuid?.() === 0) return '/var/cache/flowship';
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.cache'), 'flowship');
}

/** The zip's place in Maven's default local repository. */
export function mavenRepositoryPath(version: string): string {
  return join(
    homedir(),
    '.m2',
    'repository',
    ...GROUP_ID.split('.'),
    ARTIFACT_ID,
    version,
    `${ARTIFACT_ID}-${version}.zip`,
  );
}

/** The Java feature version Elasticsearch `version` needs at least. */
export function minimumJava(version: string): number {
  const major = Number.parseInt(version, 10);
  if (major >= 9) return 21;
  if (major === 8) return 17;
  throw new Error(`Elasticsearch ${version}: only 8.x and 9.x are supported by the test harness`);
}

function run(command: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(text);
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${text}`));
    });
  });
}

function missingTool(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/** The path of the zip, fetched with Maven when the local repository does not hold it yet. */
async function fetchZip(version: string, scratch: string, log: (m: string) => void): Promise<string> {
  const cached = mavenRepositoryPath(version);
  if (existsSync(cached)) return cached;
  const artifact = `${GROUP_ID}:${ARTIFACT_ID}:${version}:zip`;
  log(`fetching Elasticsearch ${version} (${artifact}) with Maven, once; cached in ~/.m2`);
  try {
    // -B: no colours or progress bars; a local repository moved by settings.xml works too,
    // since the copy lands in the output directory either way
    await run(
      'mvn',
      ['-B', '-q', 'dependency:copy', `-Dartifact=${artifact}`, `-DoutputDirectory=${scratch}`],
      15 * 60_000,
    );
  } catch (error) {
    if (missingTool(error))
      throw new Error(
        `Fetching Elasticsearch ${version} needs Maven (\`mvn\` is not on PATH). Install it with ` +
          `\`sudo apt-get install maven\`, or put the zip at ${cached}.`,
      );
    throw error;
  }
  return join(scratch, `${ARTIFACT_ID}-${version}.zip`);
}

/** Unpacks the distribution into the cache unless it is there; returns ES_HOME. */
async function unpack(version: string, log: (m: string) => void): Promise<string> {
  const cache = elasticsearchCacheDir();
  const home = join(cache, `elasticsearch-${version}`);
  // complete or absent: it only ever appears by rename
  if (existsSync(join(home, 'bin', 'elasticsearch'))) return home;

  mkdirSync(cache, { recursive: true, mode: 0o755 });
  const scratch = mkdtempSync(join(cache, `.elasticsearch-${version}-`));
  try {
    const zip = await fetchZip(version, scratch, log);
    const started = Date.now();
    try {
      await run('unzip', ['-q', zip, '-d', scratch], 5 * 60_000);
    } catch (error) {
      if (missingTool(error))
        throw new Error(
          'Unpacking Elasticsearch needs `unzip`: install it with `sudo apt-get install unzip`.',
        );
      throw error;
    }
    const unpacked = join(scratch, `elasticsearch-${version}`);
    if (!existsSync(join(unpacked, 'bin', 'elasticsearch')))
      throw new Error(`${zip} does not hold elasticsearch-${version}/bin/elasticsearch`);
    // readable by the user the nodes run as, whatever umask unzip ran under
    await run('chmod', ['-R', 'a+rX', unpacked], 60_000);
    try {
      renameSync(unpacked, home);
      log(`unpacked Elasticsearch ${version} in ${((Date.now() - started) / 1000).toFixed(1)} s: ${home}`);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // another process got there first with its own complete copy
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !existsSync(join(home, 'bin', 'elasticsearch')))
        throw error;
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return home;
}

/** Feature version of the JDK at `home` (from its `release` file), or undefined if it is none. */
export function javaFeatureVersion(home: string): number | undefined {
  if (!existsSync(join(home, 'bin', 'java'))) return undefined;
  try {
    const m = /^JAVA_VERSION="(?:1\.)?(\d+)/m.exec(readFileSync(join(home, 'release'), 'utf8'));
    if (m !== null) return Number(m[1]);
  } catch {}
  // no release file: ask the JVM itself
  const version = spawnSync(join(home, 'bin', 'java'), ['-version'], { encoding: 'utf8', timeout: 20_000 });
  const m = /version "(?:1\.)?(\d+)/.exec(version.stderr ?? '');
  return m === null ? undefined : Number(m[1]);
}

/** Picks the JDK for `version`: $ES_JAVA_HOME if new enough, else the oldest one that is. */
export function findJava(version: string): { javaHome: string; javaVersion: number } {
  const minimum = minimumJava(version);
  const explicit = process.env.ES_JAVA_HOME;
  if (explicit !== undefined && explicit !== '') {
    const javaVersion = javaFeatureVersion(explicit);
    if (javaVersion !== undefined && javaVersion >= minimum) return { javaHome: explicit, javaVersion };
  }
  const candidates: string[] = [];
  const javaHome = process.env.JAVA_HOME;
  if (javaHome !== undefined && javaHome !== '') candidates.push(javaHome);
  for (const root of ['/usr/lib/jvm', '/usr/lib64/jvm']) {
    try {
      for (const entry of readdirSync(root).sort()) candidates.push(join(root, entry));
    } catch {}
  }
  const seen = new Set<string>();
  const found: { javaHome: string; javaVersion: number }[] = [];
  for (const candidate of candidates) {
    let real: string;
    try {
      real = realpathSync(candidate);
    } catch {
      continue;
    }
    if (seen.has(real)) continue;
    seen.add(real);
    const javaVersion = javaFeatureVersion(real);
    if (javaVersion !== undefined) found.push({ javaHome: real, javaVersion });
  }
  const suitable = found
    .filter((jdk) => jdk.javaVersion >= minimum)
    .sort((a, b) => a.javaVersion - b.javaVersion);
  if (suitable.length > 0) return suitable[0];
  const seenList =
    found.length === 0
      ? 'none found'
      : found.map((jdk) => `Java ${jdk.javaVersion} (${jdk.javaHome})`).join(', ');
  throw new Error(
    `Elasticsearch ${version} needs Java ${minimum} or newer, and this distribution bundles none: ${seenList}. ` +
      `Install one (e.g. \`sudo apt-get install openjdk-${Math.max(minimum, 21)}-jdk-headless\`) or set ES_JAVA_HOME.`,
  );
}

function userIds(name: string): { uid: number; gid: number } | undefined {
  const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Creates the system user Elasticsearch runs as, unless it exists; returns its ids. */
export async function ensureElasticsearchUser(
  name = ELASTICSEARCH_USER,
): Promise<{ uid: number; gid: number }> {
  for (let attempt = 1; ; attempt++) {
    const ids = userIds(name);
    if (ids !== undefined) return ids;
    const add = spawnSync(
      'useradd',
      [
        '--system',
        '--user-group',
        '--no-create-home',
        '--home-dir',
        '/nonexistent',
        '--shell',
        '/usr/sbin/nologin',
        name,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (add.status === 0) continue;
    // exit 9: created meanwhile by a concurrent test process; 10: /etc/passwd locked by one
    if ((add.status === 9 || add.status === 10) && attempt < 10) {
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    throw new Error(
      `Elasticsearch refuses to run as root, and creating the user ${name} failed: ` +
        `${add.error?.message ?? add.stderr.trim()}. Create it with \`useradd --system --user-group ${name}\`.`,
    );
  }
}

/**
 * Returns a runnable Elasticsearch `version`: fetched and unpacked into the cache when needed,
 * with the JDK to run it on and, as root, the user to run it as. Safe to call from several
 * processes at once.
 */
export async function ensureElasticsearch(
  version: string = ELASTICSEARCH_VERSION,
  options: EnsureElasticsearchOptions = {},
): Promise<ElasticsearchDistribution> {
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const java = findJava(version); // before any download: fail fast when it could not run anyway
  const home = await unpack(version, log);
  const distribution: ElasticsearchDistribution = { version, home, ...java };
  if (process.getuid?.() === 0)
    distribution.user = { name: ELASTICSEARCH_USER, ...(await ensureElasticsearchUser(ELASTICSEARCH_USER)) };
  return distribution;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const versions = process.argv.slice(2);
  try {
    for (const version of versions.length > 0 ? versions : [ELASTICSEARCH_VERSION, ELASTICSEARCH_8_VERSION]) {
      const es = await ensureElasticsearch(version);
      process.stdout.write(`${es.version} ${es.home} ${es.javaHome}\n`);
    }
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
}
