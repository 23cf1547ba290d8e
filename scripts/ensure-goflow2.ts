/**
 * Builds the real GoFlow2 collector that the end-to-end tests and the benchmark drive, from the Go
 * module proxy, once: `go install github.com/netsampler/goflow2/v2/cmd/goflow2@v2.2.6` with GOBIN
 * pointing into the project cache, `<repo>/.cache/goflow2/v2.2.6/goflow2` (git-ignored). Later
 * runs find the binary there (checked with `goflow2 -v`) and do not start Go at all.
 *
 * Go's own module and build caches stay where `go env` says (by default ~/go/pkg/mod and
 * ~/.cache/go-build), so they are shared with other Go work and with CI caches that already keep
 * them (actions/setup-go does); only when Go has no usable location do they go under
 * `<repo>/.cache/go/`. For fast CI, cache `.cache/goflow2/` (about 20 MB), keyed on the version,
 * OS and architecture: with it restored, this script costs one `goflow2 -v`.
 *
 * `GOFLOW2_BIN=/path/to/goflow2` uses an existing binary instead (it must report v2.2.6).
 *
 * Usage: node scripts/ensure-goflow2.ts   (prints the binary's path on stdout)
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const GOFLOW2_VERSION = 'v2.2.6';
export const GOFLOW2_PACKAGE = 'github.com/netsampler/goflow2/v2/cmd/goflow2';
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Where the binary of `version` lives in the project cache. */
export function goflow2CachePath(version = GOFLOW2_VERSION, root = REPO_ROOT): string {
  return join(root, '.cache', 'goflow2', version, 'goflow2');
}

export interface EnsureGoflow2Options {
  version?: string;
  /** Repository root holding `.cache/` (default: this checkout). */
  root?: string;
  /** Progress messages (default: stderr). */
  log?: (message: string) => void;
}

/**
 * The version `binary -v` reports (`GoFlow2 v2.2.6 ...`), or undefined if it does not run. A plain
 * `go install` leaves the version empty; the module version recorded in the binary then answers
 * (`go version -m`), when Go is there.
 */
export function goflow2Version(binary: string): string | undefined {
  const run = spawnSync(binary, ['-v'], { encoding: 'utf8', timeout: 10_000 });
  if (run.status !== 0 || !run.stdout.startsWith('GoFlow2 ')) return undefined;
  const reported = run.stdout.slice('GoFlow2 '.length).trim().split(/\s+/)[0];
  if (reported !== '') return reported;
  const info = spawnSync('go', ['version', '-m', binary], { encoding: 'utf8' });
  return /^\s*mod\s+github\.com\/netsampler\/goflow2\/v2\s+(\S+)/m.exec(info.stdout ?? '')?.[1] ?? '';
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function goEnv(): Record<string, string> {
  const run = spawnSync('go', ['env', '-json', 'GOVERSION', 'GOMODCACHE', 'GOCACHE'], { encoding: 'utf8' });
  if (run.error !== undefined || run.status !== 0) {
    const reason =
      (run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
        ? '`go` is not on PATH'
        : `\`go env\` failed: ${run.error?.message ?? run.stderr.trim()}`;
    throw new Error(
      `Building GoFlow2 ${GOFLOW2_VERSION} needs the Go toolchain (1.23 or later), but ${reason}. ` +
        'Install it (https://go.dev/dl/, or `sudo apt-get install golang-go` on Debian 13+), ' +
        'or point GOFLOW2_BIN at an existing goflow2 v2.2.6 binary.',
    );
  }
  return JSON.parse(run.stdout) as Record<string, string>;
}

/**
 * Returns the path of a GoFlow2 binary of `version`, building it first if the project cache does
 * not hold a working one. Safe to call from several processes at once: each builds into its own
 * directory and renames the result into place.
 */
export async function ensureGoflow2(options: EnsureGoflow2Options = {}): Promise<string> {
  const version = options.version ?? GOFLOW2_VERSION;
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));

  const override = process.env.GOFLOW2_BIN;
  if (override !== undefined && override !== '') {
    const reported = goflow2Version(override);
    if (reported !== version)
      throw new Error(
        `GOFLOW2_BIN=${override} reports version ${reported === undefined ? '(none: not a runnable GoFlow2)' : `"${reported}"`}, not ${version}`,
      );
    return override;
  }

  const target = goflow2CachePath(version, options.root);
  if (isExecutable(target) && goflow2Version(target) === version) return target;

  const env = goEnv();
  const cacheRoot = join(options.root ?? REPO_ROOT, '.cache');
  const dir = join(cacheRoot, 'goflow2', version);
  mkdirSync(dir, { recursive: true });
  const gobin = mkdtempSync(join(dir, '.build-'));
  const started = Date.now();
  log(`building GoFlow2 ${version} with ${env.GOVERSION} (once; cached in ${dir})`);
  try {
    const localModCache = !env.GOMODCACHE;
    const buildEnv: NodeJS.ProcessEnv = {
      ...process.env,
      GOBIN: gobin,
      // a go.work or go.mod around the checkout must not influence `go install pkg@version`
      GOWORK: 'off',
      // static binary, no C compiler needed
      CGO_ENABLED: '0',
      // in the project cache, module files stay writable so that `rm -rf .cache` works
      GOFLAGS: localModCache ? '-modcacherw' : '',
      // no GOPATH (e.g. no HOME): also where Go keeps its checksum database state
      ...(localModCache
        ? { GOPATH: join(cacheRoot, 'go'), GOMODCACHE: join(cacheRoot, 'go', 'pkg', 'mod') }
        : {}),
      GOCACHE: env.GOCACHE && env.GOCACHE !== 'off' ? env.GOCACHE : join(cacheRoot, 'go', 'build'),
    };
    const args = [
      'install',
      '-trimpath',
      // as GoFlow2's Makefile does for releases, so that `goflow2 -v` names the version
      `-ldflags=-X main.version=${version}`,
      `${GOFLOW2_PACKAGE}@${version}`,
    ];
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn('go', args, { cwd: gobin, env: buildEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (d) => (text += d));
      child.stderr.on('data', (d) => (text += d));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) resolve(text);
        else reject(new Error(`go ${args.join(' ')} failed (exit ${code}):\n${text}`));
      });
    });
    const built = join(gobin, 'goflow2');
    const reported = goflow2Version(built);
    if (reported !== version)
      throw new Error(
        `the built binary reports version ${reported ?? '(none: not a runnable GoFlow2)'}:\n${output}`,
      );
    renameSync(built, target); // atomic: concurrent builders each install a complete binary
  } finally {
    rmSync(gobin, { recursive: true, force: true });
  }
  log(`built GoFlow2 ${version} in ${((Date.now() - started) / 1000).toFixed(1)} s: ${target}`);
  return target;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    process.stdout.write(`${await ensureGoflow2()}\n`);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
}
