/**
 * The goflow2 input end to end with the real executable: `flowship run` tails GoFlow2 JSON lines
 * from files (and from a pipe), ships the integration's documents, keeps its registry, resumes
 * after a restart without shipping a line twice, and `flowship decode` of the same file prints
 * the documents `run` shipped.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Doc, readOutputDocs } from '../helpers/output.ts';
import { eventually, FLOWSHIP_BIN, type Spawned, startFlowship } from '../helpers/process.ts';

const ROOT = join(import.meta.dirname, '../..');
const FIXTURE = join(ROOT, 'fixtures/goflow2/sample_logs/test-goflow2-sflow-sample.log');

/** A GoFlow2 default-format-like line whose `sequence_num` identifies it. */
function line(seq: number): string {
  return `${JSON.stringify({
    type: 'SFLOW_5',
    time_received_ns: 1_722_384_059_483_524_068n.toString(),
    sequence_num: seq,
    sampling_rate: 1000,
    sampler_address: '192.0.2.10',
    time_flow_start_ns: 1_722_384_059_483_524_068n.toString(),
    bytes: 1500,
    packets: 1,
    src_addr: '10.0.0.1',
    dst_addr: '10.0.0.2',
    etype: 'IPv4',
    proto: 'TCP',
    src_port: 40000 + (seq % 1000),
    dst_port: 443,
  }).replace(/"(\d{19})"/g, '$1')}\n`;
}

function config(dir: string, extra = ''): string {
  const file = join(dir, 'flowship.yml');
  writeFileSync(
    file,
    [
      'flowship.inputs:',
      '  - type: goflow2',
      '    id: sflow',
      `    paths: [${join(dir, 'logs')}/*.log]`,
      '    prospector.scanner.check_interval: 1s',
      '    backoff: {init: 100ms, max: 500ms}',
      extra,
      'output.file:',
      `  path: ${join(dir, 'out')}`,
      `path.data: ${join(dir, 'data')}`,
      'queue.mem.flush.timeout: 100ms',
      '',
    ].join('\n'),
  );
  return file;
}

const withoutIds = (d: Doc) => {
  const { id: _i, ephemeral_id: _e, ...agent } = d.agent ?? {};
  return JSON.stringify({ ...d, agent });
};

describe('goflow2 input on files (flowship run)', { timeout: 120_000 }, () => {
  let dir: string;
  let cfg: string;
  let flowship: Spawned | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'flowship-goflow2-'));
    mkdirSync(join(dir, 'logs'));
    copyFileSync(FIXTURE, join(dir, 'logs', 'goflow2.log'));
    cfg = config(dir);
  });

  after(async () => {
    await flowship?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('ships every line of the file as the integration document', async () => {
    flowship = startFlowship(['run', '-c', cfg]);
    await flowship.waitFor(/flowship started/);
    const lines = readFileSync(FIXTURE, 'utf8')
      .split('\n')
      .filter((l) => l !== '').length;
    const docs = await eventually(() => {
      const d = readOutputDocs(join(dir, 'out'));
      return d.length >= lines ? d : undefined;
    }, 20_000);
    assert.equal(docs.length, lines);
    for (const d of docs) {
      assert.equal(d.data_stream.dataset, 'goflow2.sflow');
      assert.equal(d.input.type, 'filestream');
      assert.equal(d.log.file.path, join(dir, 'logs', 'goflow2.log'));
      assert.equal(d.agent.type, 'flowship');
    }
    assert.deepEqual(
      docs.map((d) => d.log.offset),
      [...docs.map((d) => d.log.offset)].sort((a, b) => a - b),
    );
  });

  it('ships appended lines, and flowship decode of the file prints the same documents', async () => {
    appendFileSync(join(dir, 'logs', 'goflow2.log'), line(1) + line(2));
    const docs = await eventually(() => {
      const d = readOutputDocs(join(dir, 'out'));
      return d.some((x) => x.sflow?.sequence_num === 2) ? d : undefined;
    }, 20_000);
    const decoded = spawnSync(
      process.execPath,
      [FLOWSHIP_BIN, 'decode', '-c', cfg, join(dir, 'logs', 'goflow2.log')],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(decoded.status, 0, decoded.stderr);
    const printed = decoded.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Doc);
    assert.deepEqual(printed.map(withoutIds), docs.map(withoutIds));
  });

  it('stops on SIGTERM with the registry at the end of the acknowledged lines', async () => {
    assert.equal(await flowship!.stop('SIGTERM'), 0, flowship!.stderr());
    const registry = JSON.parse(readFileSync(join(dir, 'data/registry/goflow2/sflow.json'), 'utf8'));
    assert.equal(registry.entries.length, 1);
    assert.equal(registry.entries[0].offset, statSync(join(dir, 'logs', 'goflow2.log')).size);
  });

  it('resumes after a restart: nothing shipped twice, new lines shipped', async () => {
    const before = readOutputDocs(join(dir, 'out')).length;
    appendFileSync(join(dir, 'logs', 'goflow2.log'), line(3));
    flowship = startFlowship(['run', '-c', cfg]);
    await flowship.waitFor(/flowship started/);
    const docs = await eventually(() => {
      const d = readOutputDocs(join(dir, 'out'));
      return d.some((x) => x.sflow?.sequence_num === 3) ? d : undefined;
    }, 20_000);
    // give a duplicate the time to show up if the registry were wrong
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(readOutputDocs(join(dir, 'out')).length, before + 1);
    assert.equal(docs.filter((d) => d.sflow?.sequence_num === 1).length, 1);
    assert.equal(await flowship.stop('SIGTERM'), 0);
  });
});

describe('goflow2 input on a pipe (goflow2 | flowship run)', { timeout: 60_000 }, () => {
  it('reads standard input, ships every line without file fields, and exits 0 at end of stream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowship-stdin-'));
    try {
      const cfg = join(dir, 'flowship.yml');
      writeFileSync(
        cfg,
        [
          'flowship.inputs:',
          '  - {type: goflow2, id: pipe, stdin: true}',
          `output.file: {path: ${join(dir, 'out')}}`,
          `path.data: ${join(dir, 'data')}`,
          '',
        ].join('\n'),
      );
      const child = spawn(process.execPath, [FLOWSHIP_BIN, 'run', '-c', cfg], {
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      for (let seq = 1; seq <= 500; seq++) child.stdin.write(line(seq));
      child.stdin.end(line(501).trimEnd()); // the writer's last line may lack its newline
      const [code] = await once(child, 'exit');
      assert.equal(code, 0, stderr);
      const docs = readOutputDocs(join(dir, 'out'));
      assert.equal(docs.length, 501);
      assert.deepEqual(
        docs.map((d) => d.sflow.sequence_num),
        Array.from({ length: 501 }, (_, i) => i + 1),
      );
      assert.equal(docs[0].input.type, 'stdin');
      assert.equal(docs[0].log, undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
