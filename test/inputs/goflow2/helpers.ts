/**
 * Real-file harness for the tailer scenarios (TAILER.md §9): a temporary directory, a consumer
 * that acks, holds or blocks, and polling helpers.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'node:test';
import type { TailedLine, TailerOptions } from '../../../src/inputs/goflow2/options.ts';
import { registryPath } from '../../../src/inputs/goflow2/registry.ts';
import { Tailer } from '../../../src/inputs/goflow2/tailer.ts';
import { createLogger } from '../../../src/monitoring/logger.ts';
import type { Clock } from '../../../src/pipeline/clock.ts';
import type { AckHandle } from '../../../src/pipeline/event.ts';

/**
 * The system clock with ref'd timers: a test awaiting a tailer's timer must keep the process
 * alive (the production clock unrefs them).
 */
export const testClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'flowship-tailer-'));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** A GoFlow2-like line (≥ 64 bytes, so one line gives a file its identity), without `\n`. */
export function flow(i: number, tag = 'a'): string {
  return `{"type":"SFLOW_5","time_received_ns":${1709065920620635488n + BigInt(i)},"sequence_num":${i},"tag":"${tag}"}`;
}

/** `n` lines from `from`, each with its `\n`. */
export function flows(from: number, n: number, tag = 'a'): string {
  let s = '';
  for (let i = from; i < from + n; i++) s += `${flow(i, tag)}\n`;
  return s;
}

export interface Delivered {
  readonly text: string;
  readonly path: string;
  readonly offset: number;
  readonly entryKey: string;
  readonly generation: number;
  readonly fingerprint: string;
}

/** An output that acks at once (`auto`), holds acks (`manual`), or blocks (`block()`). */
export class Consumer {
  readonly delivered: Delivered[] = [];
  readonly held: AckHandle[] = [];
  mode: 'auto' | 'manual';
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;

  constructor(mode: 'auto' | 'manual' = 'auto') {
    this.mode = mode;
  }

  readonly onLine = async (line: TailedLine): Promise<void> => {
    while (this.#gate !== undefined) await this.#gate;
    this.delivered.push({
      text: line.text,
      path: line.path,
      offset: line.offset,
      entryKey: line.entryKey,
      generation: line.generation,
      fingerprint: line.fingerprint,
    });
    const [handle] = line.acks(1);
    if (this.mode === 'auto') handle.ack();
    else this.held.push(handle);
  };

  block(): void {
    this.#gate ??= new Promise((resolve) => {
      this.#open = resolve;
    });
  }

  unblock(): void {
    const open = this.#open;
    this.#gate = undefined;
    this.#open = undefined;
    open?.();
  }

  /** Acks the first `n` held handles (all by default). */
  ack(n = this.held.length): void {
    for (const h of this.held.splice(0, n)) h.ack();
  }

  texts(): string[] {
    return this.delivered.map((d) => d.text);
  }
}

export interface Harness {
  readonly tailer: Tailer;
  readonly logs: string[];
}

/** A tailer on `${dir}/logs/*.log` with fast timings; `overrides` win. */
export function makeTailer(dir: string, consumer: Consumer, overrides: Partial<TailerOptions> = {}): Harness {
  const logs: string[] = [];
  const tailer = new Tailer({
    id: 'test',
    dataDir: join(dir, 'data'),
    paths: [join(dir, 'logs', '*.log')],
    checkIntervalMs: 100,
    backoffInitMs: 10,
    backoffMaxMs: 50,
    closeCheckIntervalMs: 50,
    registryFlushMs: 10,
    clock: testClock,
    logger: createLogger({ level: 'debug', sink: (l) => logs.push(l) }),
    onLine: consumer.onLine,
    ...overrides,
  });
  return { tailer, logs };
}

/**
 * The per-test set-up of the real-file tailer tests: a fresh temporary directory with a `logs`
 * folder before each test; after it, every tailer started through `start` is stopped and the
 * directory removed. Read `dir`/`logs` inside tests (they change per test).
 */
export function useTailerFixture() {
  const running: Tailer[] = [];
  const fx = {
    dir: '',
    logs: '',
    async start(consumer: Consumer, overrides: Partial<TailerOptions> = {}): Promise<Harness> {
      const h = makeTailer(fx.dir, consumer, overrides);
      fx.track(h.tailer);
      await h.tailer.start();
      return h;
    },
    /** Stops `tailer` after the test (for a tailer started by the test itself). */
    track(tailer: Tailer): void {
      running.push(tailer);
    },
  };
  beforeEach(async () => {
    fx.dir = await tempDir();
    fx.logs = join(fx.dir, 'logs');
    await mkdir(fx.logs);
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((t) => t.stop({ timeoutMs: 0 })));
    await removeDir(fx.dir);
  });
  return fx;
}

/** Polls `cond` every 10 ms; fails after `timeoutMs` with `what`. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function sleepMs(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The registry file of the harness' tailer, parsed (undefined when not written yet). */
export async function readRegistry(
  dir: string,
  id = 'test',
): Promise<{ entries: Array<{ path: string; offset: number; fp: string; marker: string }> } | undefined> {
  try {
    return JSON.parse(await readFile(registryPath(join(dir, 'data'), id), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Byte offset of line `k` (0-based) in text made of `\n`-terminated lines. */
export function offsetOf(text: string, k: number): number {
  let off = 0;
  for (let i = 0; i < k; i++) off = text.indexOf('\n', off) + 1;
  return Buffer.byteLength(text.slice(0, off));
}
