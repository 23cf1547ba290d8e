/**
 * The GoFlow2 harness, end to end with the real collector: GoFlow2 v2.2.6, built from the Go module
 * proxy by scripts/ensure-goflow2.ts, listens for sFlow on loopback and writes JSON lines to a
 * file; the sFlow v5 encoder of test/helpers/sflow.ts sends it known samples. Every sample must
 * come out as one line with exactly the values encoded, and a rename + SIGHUP (logrotate's
 * `create` + `postrotate`) must send later lines to a new file at the same path: what the
 * tailer's tests rely on. With GoFlow2's default two decode workers, records may interleave
 * (`{A}{B}\n\n`); the harness still finds every sample.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureGoflow2 } from '../../scripts/ensure-goflow2.ts';
import {
  type Goflow2,
  parseGoflow2Line,
  readCompleteLines,
  readRecords,
  startGoflow2,
} from '../helpers/goflow2.ts';
import { eventually } from '../helpers/process.ts';
import {
  buildFlowSamples,
  type FlowSampleSet,
  GOFLOW2_KEYS,
  GOFLOW2_TIME_KEYS,
  sampleKey,
} from '../helpers/sflow.ts';

const nowNs = () => BigInt(Date.now()) * 1_000_000n;

/** Every line is one expected sample, exactly; every sample has its line. */
function assertLines(lines: string[], set: FlowSampleSet, fromNs: bigint, toNs: bigint) {
  assert.equal(lines.length, set.samples.length, 'one line per flow sample');
  const expected = new Map(set.samples.map((s) => [s.key, s.line]));
  assert.equal(expected.size, set.samples.length, 'sample keys are unique');
  const seen = new Set<string>();
  for (const text of lines) {
    // compact JSON, one flat object, GoFlow2's key order
    assert.match(text, /^\{"type":"SFLOW_5","time_received_ns":\d+,"sequence_num":\d+,/);
    assert.doesNotMatch(text, /\s/);
    const line = parseGoflow2Line(text);
    assert.deepEqual(Object.keys(line), GOFLOW2_KEYS);

    const received = line.time_received_ns;
    assert.equal(typeof received, 'bigint', 'nanoseconds beyond 2^53');
    assert.ok((received as bigint) >= fromNs && (received as bigint) <= toNs, `receive time ${received}`);
    assert.equal(line.time_flow_start_ns, received);
    assert.equal(line.time_flow_end_ns, received);

    const key = sampleKey(line);
    assert.ok(!seen.has(key), `duplicate line ${key}`);
    seen.add(key);
    const want = expected.get(key);
    assert.ok(want !== undefined, `unexpected line ${text}`);
    const rest = Object.fromEntries(
      Object.entries(line).filter(([k]) => !(GOFLOW2_TIME_KEYS as readonly string[]).includes(k)),
    );
    assert.deepEqual(rest, want);
  }
}

describe('GoFlow2 v2.2.6 (real binary) collecting sFlow v5 from the test encoder', () => {
  let dir: string;
  let file: string;
  let goflow2: Goflow2 | undefined;
  let first: FlowSampleSet;

  before(async () => {
    const binary = await ensureGoflow2();
    dir = mkdtempSync(join(tmpdir(), 'flowship-goflow2-'));
    file = join(dir, 'goflow2.log');
    goflow2 = await startGoflow2({ binary, file });
  });

  after(async () => {
    if (goflow2 !== undefined) {
      const code = await goflow2.stop();
      assert.equal(code, 0, `goflow2 exit status; stderr:\n${goflow2.process.stderr()}`);
    }
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('writes one JSON line per flow sample with the encoded values', { timeout: 60_000 }, async () => {
    const set = (first = buildFlowSamples(200, { samplesPerDatagram: 9 }));
    assert.equal(set.datagrams.length, 23);
    const from = nowNs();
    await goflow2!.send(set.datagrams);
    const lines = await goflow2!.waitForLines(200);
    await new Promise((r) => setTimeout(r, 200)); // nothing more arrives
    assertLines(readCompleteLines(file), set, from, nowNs());
    assert.equal(lines.length, 200);
    assert.ok(readFileSync(file, 'utf8').endsWith('\n'));
  });

  it('after a rename and SIGHUP, writes new lines to a new file at the same path', {
    timeout: 60_000,
  }, async () => {
    const rotated = `${file}.1`;
    renameSync(file, rotated);
    await goflow2!.reopen();

    const set = buildFlowSamples(60, { firstIndex: 200, firstSequence: 100, samplesPerDatagram: 7 });
    const from = nowNs();
    await goflow2!.send(set.datagrams);
    await goflow2!.waitForLines(60);
    await new Promise((r) => setTimeout(r, 200));
    assertLines(readCompleteLines(file), set, from, nowNs());

    // the rotated file is intact and got nothing more
    assert.ok(readFileSync(rotated, 'utf8').endsWith('\n'));
    const old = readCompleteLines(rotated).map((l) => sampleKey(parseGoflow2Line(l)));
    assert.deepEqual(new Set(old), new Set(first.samples.map((s) => s.key)));
    assert.equal(old.length, 200);
  });

  it("with GoFlow2's default two workers, every sample is still written once", {
    timeout: 60_000,
  }, async (t) => {
    const path = join(dir, 'two-workers.log');
    const collector = await startGoflow2({ file: path, listen: {} });
    try {
      const set = buildFlowSamples(600, { samplesPerDatagram: 10, firstIndex: 1000 });
      await collector.send(set.datagrams);
      const records = await eventually(
        () => {
          const r = readRecords(path);
          return r.length >= 600 ? r : undefined;
        },
        15_000,
        '600 records',
      );
      const keys = records.map((r) => sampleKey(parseGoflow2Line(r)));
      assert.equal(keys.length, 600);
      assert.deepEqual(new Set(keys), new Set(set.samples.map((s) => s.key)));
      const lines = readCompleteLines(path);
      t.diagnostic(
        `${lines.filter((l) => l.includes('}{')).length} of ${lines.length} lines held two records`,
      );
    } finally {
      assert.equal(await collector.stop(), 0);
    }
  });
});
