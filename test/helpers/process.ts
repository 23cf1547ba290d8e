/**
 * Helpers for process-level tests: spawn the real `flowship` executable and other programs,
 * wait for lines they print, and stop them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const FLOWSHIP_BIN = fileURLToPath(new URL('../../bin/flowship.js', import.meta.url));

export interface Spawned {
  readonly child: ChildProcess;
  /** Everything printed so far on stdout and stderr. */
  stdout(): string;
  stderr(): string;
  /** Resolves when `pattern` has appeared on stderr (or stdout), rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function start(command: string, args: readonly string[], options: { cwd?: string } = {}): Spawned {
  const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    err += d;
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    async waitFor(pattern, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(err) && !pattern.test(out)) {
        if (child.exitCode !== null)
          throw new Error(`${command} exited (${child.exitCode}) before ${pattern}:\n${err}`);
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${pattern} from ${command}:\n${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export function startFlowship(args: readonly string[], options: { cwd?: string } = {}): Spawned {
  return start(process.execPath, [FLOWSHIP_BIN, ...args], options);
}

/** A UDP port free right now on 127.0.0.1. */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** Polls `check` (sync or async) until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
