/**
 * Property-based model test of the tailer (TAILER.md §10), after Vector's file-watcher
 * quickcheck experiments: random sequences of writes, rotations, truncations, deletions, inode
 * reuse, time, acks, blocking and crashes run against the real Tailer on the in-memory
 * filesystem with a manual clock, and an oracle checks:
 *
 *   1. no invention: every delivered line was written, byte for byte, at its offset;
 *   2. at least once: after a Settle, every complete line of every identified, matching file has
 *      been delivered and acknowledged (under that file's fingerprint and offset), in this run or
 *      an earlier one (what a crash lost before its ack must come again);
 *   3. order: within one run, an entry's generation delivers offsets in increasing order;
 *   5. offsets: a persisted offset sits at a line start of what was written with its identity
 *      (never past it), and never decreases within a generation, nor across a restart;
 *   6. whole lines: every delivered line had its `\n`.
 *
 * Property 4 (ids) belongs to the goflow2 input's document ids, not to the tailer.
 * Deterministic: fixed seed (override with FC_SEED), 200 runs of up to 60 commands (FC_RUNS).
 * fast-check prints the seed and the shrunk command sequence on failure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fingerprintOf } from '../../../src/inputs/goflow2/identity.ts';
import { MemoryFs, type MemoryWriter } from '../../../src/inputs/goflow2/memory-fs.ts';
import type { TailedLine } from '../../../src/inputs/goflow2/options.ts';
import { MemoryRegistryStore, type RegistryDocument } from '../../../src/inputs/goflow2/registry.ts';
import { Tailer } from '../../../src/inputs/goflow2/tailer.ts';
import { ManualClock } from '../../../src/pipeline/clock.ts';
import type { AckHandle } from '../../../src/pipeline/event.ts';

const SEED = Number(process.env.FC_SEED ?? 20260101);
const RUNS = Number(process.env.FC_RUNS ?? 200);
const NAMES = ['a', 'b'] as const;
type Name = (typeof NAMES)[number];
const pathOf = (name: Name) => `/logs/${name}.log`;
const MATCHES = (p: string) => /^\/logs\/[^/]+\.log(\.1)?$/.test(p);
const FP_LENGTH = 1024;

/** One tailer process: its consumer, held acks, and the gate that blocks it. */
class Run {
  readonly tailer: Tailer;
  readonly held: AckHandle[] = [];
  readonly lastOffset = new Map<string, number>();
  gate: Promise<void> | undefined;
  open: (() => void) | undefined;

  constructor(world: World, store: MemoryRegistryStore) {
    this.tailer = new Tailer({
      id: 'model',
      registryStore: store,
      fs: world.fs,
      clock: world.clock,
      paths: ['/logs/*.log', '/logs/*.log.1'],
      ignoreOlderMs: 0,
      checkIntervalMs: 1000,
      backoffInitMs: 100,
      backoffMaxMs: 400,
      closeCheckIntervalMs: 200,
      closeInactiveMs: 3000,
      registryFlushMs: 100,
      bufferSize: 64 + (world.runs % 4) * 100,
      maxInFlightBytes: 2000,
      onLine: (line) => this.onLine(world, line),
    });
  }

  async onLine(world: World, line: TailedLine): Promise<void> {
    while (this.gate !== undefined) await this.gate;
    world.checkDelivered(this, line);
    const key = `${line.fingerprint}|${line.offset}|${line.text}`;
    // delivered means acknowledged: a line handed over and never acked (lost in a crash) counts
    // only once a later run hands it over again and that is acked
    this.held.push(
      ...line.acks(1).map((h) => ({
        ack: () => {
          world.delivered.add(key);
          h.ack();
        },
      })),
    );
  }

  block(): void {
    this.gate ??= new Promise((resolve) => {
      this.open = resolve;
    });
  }

  unblock(): void {
    const open = this.open;
    this.gate = undefined;
    this.open = undefined;
    open?.();
  }
}

/** The system under test plus the oracle's memory. */
class World {
  readonly clock = new ManualClock();
  readonly fs = new MemoryFs({ now: () => this.clock.now() });
  store = new MemoryRegistryStore();
  run!: Run;
  runs = 0;
  readonly writers = new Map<Name, MemoryWriter>();
  /** The rest of a line begun by `WritePartial`, per writer. */
  readonly partial = new Map<Name, string>();
  seq = 0;
  /** Past contents of each inode number (before each truncation, deletion, replacement). */
  readonly history = new Map<bigint, Buffer[]>();
  /** Lines acknowledged, as `fingerprint|offset|text`. */
  readonly delivered = new Set<string>();
  readonly violations: string[] = [];
  readonly persisted = new Map<string, { run: number; generation: number; offset: number }>();

  async start(): Promise<void> {
    this.fs.mkdir('/logs');
    this.store.onSave = (doc) => this.checkPersisted(doc);
    this.run = new Run(this, this.store);
    this.runs++;
    await this.run.tailer.start();
  }

  /** A unique line; its padding varies too, so that line ends differ (markers can tell them apart). */
  line(len: number): string {
    const n = this.seq++;
    let pad = '';
    for (let i = 0; i < len; i++) pad += String.fromCharCode(97 + ((n * 7 + i * 13 + (i >> 3) * n) % 26));
    return `L${n}:${pad}`;
  }

  writer(name: Name): MemoryWriter {
    const path = pathOf(name);
    let w = this.writers.get(name);
    if (w === undefined || !this.fs.exists(path) || this.fs.inodeOf(path) !== w.ino) {
      if (!this.fs.exists(path)) this.fs.writeFile(path);
      w = this.fs.writer(path);
      this.writers.set(name, w);
      this.partial.delete(name);
    }
    return w;
  }

  retireWriter(name: Name): void {
    this.writers.delete(name);
    this.partial.delete(name);
  }

  snapshot(path: string): void {
    if (!this.fs.exists(path)) return;
    const ino = this.fs.inodeOf(path);
    const list = this.history.get(ino) ?? [];
    list.push(Buffer.from(this.fs.read(path)));
    this.history.set(ino, list);
  }

  // ---- properties checked as lines arrive and as the registry is written -----------------------

  checkDelivered(run: Run, line: TailedLine): void {
    const expected = Buffer.from(`${line.text}\n`);
    const ino = BigInt(line.ino);
    const versions = [...(this.history.get(ino) ?? [])];
    const current = this.fs.dataByInode(ino);
    if (current !== undefined) versions.push(current);
    const written = versions.some(
      (v) =>
        line.end - line.offset === expected.length &&
        v.length >= line.end &&
        v.subarray(line.offset, line.end).equals(expected) &&
        (line.offset === 0 || v[line.offset - 1] === 0x0a),
    );
    if (!written) {
      this.violations.push(
        `1/6: ${JSON.stringify(line.text)} at ${line.offset} of inode ${line.ino} was never written`,
      );
    }
    const key = `${line.entryKey}|${line.generation}`;
    const last = run.lastOffset.get(key);
    if (last !== undefined && line.offset <= last) {
      this.violations.push(`3: ${key} delivered offset ${line.offset} after ${last}`);
    }
    run.lastOffset.set(key, line.offset);
  }

  /** Every content any inode ever held (past versions and current ones). */
  allVersions(): Buffer[] {
    const out = [...this.history.values()].flat();
    for (const ino of this.fs.liveInodes()) out.push(this.fs.dataByInode(ino)!);
    return out;
  }

  checkPersisted(doc: RegistryDocument): void {
    const versions = this.allVersions();
    const generations = new Map(this.run.tailer.entries().map((e) => [e.fp, e.generation]));
    for (const e of doc.entries) {
      // what was written with this identity, in whichever file (a copytruncate copy holds less)
      const lineage = versions.filter((v) => fingerprintOf(v.subarray(0, FP_LENGTH), FP_LENGTH)?.fp === e.fp);
      const fits = lineage.some((v) => e.offset <= v.length && (e.offset === 0 || v[e.offset - 1] === 0x0a));
      if (!fits) this.violations.push(`5: ${e.path} offset ${e.offset} is no line start of what was written`);
      // Within a generation the offset only grows (a restart resumes at what was persisted).
      const gen = generations.get(e.fp) ?? 0;
      const before = this.persisted.get(e.fp);
      if (
        before !== undefined &&
        e.offset < before.offset &&
        ((before.run === this.runs && before.generation === gen) || (before.run !== this.runs && gen === 0))
      ) {
        this.violations.push(
          `5: ${e.path} offset went back from ${before.offset} to ${e.offset} (generation ${gen})`,
        );
      }
      this.persisted.set(e.fp, { run: this.runs, generation: gen, offset: e.offset });
    }
    // an entry cleaned: a later one with the same identity starts afresh
    const present = new Set(doc.entries.map((e) => e.fp));
    for (const fp of [...this.persisted.keys()]) if (!present.has(fp)) this.persisted.delete(fp);
  }

  /** Property 2, after a Settle. */
  checkAtLeastOnce(): void {
    const byFp = new Map<string, string[]>();
    for (const path of this.fs.paths().filter(MATCHES)) {
      const data = this.fs.read(path);
      const fp = fingerprintOf(data.subarray(0, FP_LENGTH), FP_LENGTH);
      if (fp === undefined) continue;
      byFp.set(fp.fp, [...(byFp.get(fp.fp) ?? []), path]);
    }
    for (const [fp, paths] of byFp) {
      // two live files with one fingerprint: one of them is followed (§3)
      const missing = paths.map((path) => this.missingLines(fp, this.fs.read(path)));
      if (missing.every((m) => m.length > 0)) {
        this.violations.push(`2: ${paths.join(', ')}: not delivered: ${missing[0].slice(0, 3).join(' | ')}`);
      }
    }
  }

  missingLines(fp: string, data: Buffer): string[] {
    const out: string[] = [];
    let start = 0;
    for (;;) {
      const nl = data.indexOf(0x0a, start);
      if (nl < 0) break;
      const text = data.subarray(start, nl).toString();
      if (text !== '' && !this.delivered.has(`${fp}|${start}|${text}`)) out.push(`${start}:${text}`);
      start = nl + 1;
    }
    return out;
  }

  async advance(ms: number): Promise<void> {
    for (let t = 0; t < ms; t += 50) await this.clock.advance(Math.min(50, ms - t));
  }

  /** Unblock, ack everything, and let time pass until nothing moves. */
  async settle(): Promise<void> {
    this.run.unblock();
    let quiet = 0;
    let lastDelivered = -1;
    for (let i = 0; i < 200 && quiet < 4; i++) {
      for (const h of this.run.held.splice(0)) h.ack();
      await this.advance(500);
      const now = this.delivered.size;
      quiet =
        now === lastDelivered && this.run.held.length === 0 && this.run.tailer.inFlightBytes === 0
          ? quiet + 1
          : 0;
      lastDelivered = now;
    }
    this.checkAtLeastOnce();
  }

  async crashRestart(): Promise<void> {
    const old = this.run;
    const survivor = this.store.fork();
    this.store.onSave = undefined;
    this.store = survivor;
    // the old process is gone: its state is lost, it writes nowhere that counts
    old.held.length = 0;
    old.unblock();
    await old.tailer.stop({ timeoutMs: 0 });
    this.run = new Run(this, this.store);
    this.runs++;
    await this.run.tailer.start();
  }
}

type Cmd = fc.AsyncCommand<object, World, false>;

function command(label: string, run: (w: World) => Promise<void> | void): Cmd {
  return {
    check: () => true,
    run: async (_m, w) => {
      await run(w);
      // let pending reads and acks run between commands, as a real process would
      await w.clock.advance(0);
    },
    toString: () => label,
  };
}

const name = fc.constantFrom(...NAMES);
const writeLines = fc
  .record({ f: name, lens: fc.array(fc.integer({ min: 5, max: 120 }), { minLength: 1, maxLength: 5 }) })
  .map(({ f, lens }) =>
    command(`WriteLines(${f}, ${lens})`, (w) => {
      const wr = w.writer(f);
      const rest = w.partial.get(f);
      let text = rest === undefined ? '' : `${rest}\n`;
      w.partial.delete(f);
      for (const len of lens) text += `${w.line(len)}\n`;
      wr.append(text);
    }),
  );
const tick = fc.integer({ min: 10, max: 4000 }).map((ms) => command(`Tick(${ms})`, (w) => w.advance(ms)));
const ackSome = fc.integer({ min: 0, max: 2 ** 30 }).map((bits) =>
  command(`AckSome(${bits})`, (w) => {
    const held = w.run.held;
    const keep: AckHandle[] = [];
    held.forEach((h, i) => {
      if ((bits >> (i % 30)) & 1) h.ack();
      else keep.push(h);
    });
    held.splice(0, held.length, ...keep);
  }),
);
// writes, time and acks are listed more than once: fc.commands picks uniformly among arbitraries
const commands = [
  writeLines,
  writeLines,
  writeLines,
  writeLines,
  tick,
  tick,
  ackSome,
  ackSome,
  fc
    .record({ f: name, len: fc.integer({ min: 5, max: 120 }), cut: fc.integer({ min: 0, max: 100 }) })
    .map(({ f, len, cut }) =>
      command(`WritePartial(${f}, ${len}, ${cut}%)`, (w) => {
        if (w.partial.has(f)) return;
        const wr = w.writer(f);
        const line = w.line(len);
        const at = Math.floor((line.length * cut) / 100);
        wr.append(line.slice(0, at));
        w.partial.set(f, line.slice(at));
      }),
    ),
  name.map((f) =>
    command(`CompleteLine(${f})`, (w) => {
      const rest = w.partial.get(f);
      if (rest === undefined) return;
      w.writer(f).append(`${rest}\n`);
      w.partial.delete(f);
    }),
  ),
  name.map((f) =>
    command(`RotateRename(${f})`, (w) => {
      const path = pathOf(f);
      if (!w.fs.exists(path)) return;
      w.snapshot(`${path}.1`);
      w.fs.rename(path, `${path}.1`);
      w.retireWriter(f); // HUP: the rotated file keeps any unterminated tail for good
      w.writer(f);
    }),
  ),
  name.map((f) =>
    command(`CopyTruncate(${f})`, (w) => {
      const path = pathOf(f);
      if (!w.fs.exists(path)) return;
      w.snapshot(`${path}.1`);
      w.fs.copy(path, `${path}.1`);
      w.snapshot(path);
      w.fs.truncate(path, 0);
    }),
  ),
  fc.record({ f: name, to: fc.integer({ min: 0, max: 100 }) }).map(({ f, to }) =>
    command(`Truncate(${f}, ${to}%)`, (w) => {
      const path = pathOf(f);
      if (!w.fs.exists(path)) return;
      w.snapshot(path);
      w.fs.truncate(path, Math.floor((w.fs.read(path).length * to) / 100));
    }),
  ),
  name.map((f) =>
    command(`Delete(${f})`, (w) => {
      const path = pathOf(f);
      if (!w.fs.exists(path)) return;
      w.snapshot(path);
      w.fs.unlink(path);
      w.retireWriter(f);
    }),
  ),
  name.map((f) =>
    command(`Recreate(${f})`, (w) => {
      if (!w.fs.exists(pathOf(f))) w.writer(f);
    }),
  ),
  fc.record({ f: name, k: fc.integer({ min: 1, max: 6 }) }).map(({ f, k }) =>
    command(`ReuseInode(${f}, ${k})`, (w) => {
      const path = pathOf(f);
      w.snapshot(path);
      if (w.fs.exists(path)) w.fs.unlink(path);
      w.retireWriter(f);
      let text = '';
      for (let i = 0; i < k; i++) text += `${w.line(40 + i * 7)}\n`;
      if (!w.fs.createReusingInode(path, text)) w.fs.writeFile(path, text);
      w.writer(f);
    }),
  ),
  fc.constant(command('Block', (w) => w.run.block())),
  fc.constant(command('Unblock', (w) => w.run.unblock())),
  fc.constant(command('CrashRestart', (w) => w.crashRestart())),
  fc.constant(command('Settle', (w) => w.settle())),
];

describe('tailer model (property-based)', () => {
  it(`properties 1, 2, 3, 5, 6 hold over ${RUNS} random histories (seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 60, size: 'max' }), async (cmds) => {
        const w = new World();
        await w.start();
        try {
          await fc.asyncModelRun(() => ({ model: {}, real: w }), cmds);
          await w.settle();
          if (process.env.FC_DEBUG) console.log(cmds.toString(), w.delivered.size, w.violations.length);
          assert.deepEqual(w.violations, []);
        } finally {
          w.run.unblock();
          await w.run.tailer.stop({ timeoutMs: 0 });
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
