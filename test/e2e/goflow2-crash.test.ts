/**
 * The at-least-once guarantee under real crashes: a writer appends numbered GoFlow2 lines to
 * several files and rotates them by rename while `flowship run` tails them; flowship is killed with
 * SIGKILL several times mid-stream and restarted. At the end every written line is in the output
 * at least once (duplicates are allowed: the registry lags the output by design, and the
 * Elasticsearch output drops them by document id).
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readOutputDocs } from '../helpers/output.ts';
import { type Spawned, startFlowship } from '../helpers/process.ts';

const FILES = ['a', 'b', 'c'];

function line(seq: number): string {
  return `{"type":"SFLOW_5","time_flow_start_ns":1722384059483524068,"sequence_num":${seq},"sampling_rate":100,"sampler_address":"192.0.2.1","bytes":64,"src_addr":"10.0.0.1","dst_addr":"10.0.0.2","etype":"IPv4","proto":"UDP","src_port":5000,"dst_port":53}\n`;
}

/** Sequence numbers in the output; a line torn by SIGKILL at the end of a file is skipped. */
function shipped(dir: string): number[] {
  return readOutputDocs(dir, { tolerateTornLines: true })
    .map((d) => d.sflow?.sequence_num)
    .filter((seq): seq is number => typeof seq === 'number');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('goflow2 input: SIGKILL and rotation under load', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowship-crash-'));
  let flowship: Spawned | undefined;

  after(async () => {
    await flowship?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('every written line is shipped at least once', async () => {
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    const cfg = join(dir, 'flowship.yml');
    writeFileSync(
      cfg,
      [
        'flowship.inputs:',
        '  - type: goflow2',
        '    id: crash',
        // rotated files stay in paths, so what a killed flowship had not read yet is still read
        `    paths: [${logs}/*.log, ${logs}/*.log.*]`,
        '    prospector.scanner.check_interval: 1s',
        '    backoff: {init: 50ms, max: 200ms}',
        '    flowship.registry.flush: 200ms',
        `output.file: {path: ${join(dir, 'out')}, number_of_files: 50}`,
        `path.data: ${join(dir, 'data')}`,
        'queue.mem: {events: 512, flush: {min_events: 64, timeout: 50ms}}',
        '',
      ].join('\n'),
    );

    let seq = 0;
    let rotations = 0;
    const writeSome = (n: number) => {
      for (let i = 0; i < n; i++) {
        seq++;
        appendFileSync(join(logs, `${FILES[seq % FILES.length]}.log`), line(seq));
      }
    };
    const rotate = () => {
      const name = FILES[rotations % FILES.length];
      rotations++;
      renameSync(join(logs, `${name}.log`), join(logs, `${name}.log.${rotations}`));
    };

    writeSome(300);
    flowship = startFlowship(['run', '-c', cfg]);
    await flowship.waitFor(/flowship started/);
    let kills = 0;
    for (let round = 0; round < 24; round++) {
      writeSome(150);
      if (round % 4 === 3) rotate();
      await sleep(120);
      if (round % 6 === 5) {
        // a burst, then the kill while flowship is still reading and shipping it
        writeSome(3000);
        await sleep(40);
        await flowship.stop('SIGKILL');
        kills++;
        writeSome(100); // written while flowship is down
        flowship = startFlowship(['run', '-c', cfg]);
        await flowship.waitFor(/flowship started/);
      }
    }
    const total = seq;

    const deadline = Date.now() + 60_000;
    let missing: number[] = [];
    for (;;) {
      const seen = new Set(shipped(join(dir, 'out')));
      missing = [];
      for (let s = 1; s <= total; s++) if (!seen.has(s)) missing.push(s);
      if (missing.length === 0 || Date.now() > deadline) break;
      await sleep(250);
    }
    assert.equal(await flowship.stop('SIGTERM'), 0, flowship.stderr());
    assert.ok(kills >= 3, `only ${kills} kills`);
    assert.ok(rotations >= 5, `only ${rotations} rotations`);
    assert.deepEqual(missing.slice(0, 20), [], `${missing.length} of ${total} lines never shipped`);
    const all = shipped(join(dir, 'out'));
    // duplicates come only from the window a kill interrupted
    assert.ok(all.length < total * 2, `${all.length} documents for ${total} lines`);
  });
});
