/**
 * `flowship decode`: the real executable where the behaviour is about the process (a closed pipe,
 * a stack trace, the documents `run` ships), the function where a stream can be made to fail.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { decode } from '../../src/cli/decode.ts';
import { eventually, FLOWSHIP_BIN, freeUdpPort, startFlowship } from '../helpers/process.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures/netflow/dat');
/** One v5 packet of 30 records, 1464 bytes. */
const V5 = readFileSync(join(FIXTURES, 'netflow5_test_microtik.dat'));
/** A v5 packet of 2 records, 120 bytes (the first of netflow5.dat). */
const V5_SMALL = readFileSync(join(FIXTURES, 'netflow5.dat')).subarray(0, 24 + 2 * 48);

const dir = mkdtempSync(join(tmpdir(), 'flowship-decode-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function decodeProcess(args: readonly string[]) {
  return spawnSync(process.execPath, [FLOWSHIP_BIN, 'decode', ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000,
  });
}

/** A stream that collects what is written. */
function collector(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      text += chunk;
      callback();
    },
  });
  return { stream, text: () => text };
}

/** A stream whose every write fails with `code`. */
function failing(code: string): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback(Object.assign(new Error(`write ${code}`), { code }));
    },
  });
}

type Doc = Record<string, any>;

function withoutCreated(doc: Doc): string {
  const { created: _, ...event } = doc.event;
  return JSON.stringify({ ...doc, event });
}

describe('flowship decode: datagrams that do not decode', () => {
  it('a one-byte .dat file is a decode error on stderr, not a stack trace', () => {
    const one = join(dir, 'one.dat');
    writeFileSync(one, Uint8Array.of(0x09));
    const r = decodeProcess([one]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /one\.dat: packet 1 from 192\.0\.2\.1:4444: \S+: /);
    assert.match(r.stderr, /decoded 0 records from 1 packets in 1 files; 1 decode errors/);
    assert.doesNotMatch(r.stderr, /ERR_BUFFER_OUT_OF_BOUNDS|\n\s+at /);
  });
});

describe('flowship decode: stdout', () => {
  it('a reader that goes away (decode | head) ends decoding quietly with exit 0', async () => {
    const files = Array.from({ length: 100 }, () => join(FIXTURES, 'netflow5_test_microtik.dat'));
    const child = spawn(process.execPath, [FLOWSHIP_BIN, 'decode', ...files], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = once(child, 'exit');
    // as `head -n 1` does: read a little, then close the pipe while flowship still writes
    const [first] = (await once(child.stdout, 'data')) as [Buffer];
    assert.ok(first.toString().startsWith('{'));
    child.stdout.destroy();
    const [code, signal] = (await exited) as [number | null, string | null];
    assert.equal(signal, null);
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /EPIPE|Error|\n\s+at /);
    assert.doesNotMatch(stderr, /decoded \d+ records/, 'nothing to report: the reader is gone');
  });

  it('EPIPE on the stream stops decoding and returns 0, quietly', async () => {
    const err = collector();
    const code = await decode({
      files: [join(FIXTURES, 'netflow5_test_microtik.dat')],
      overrides: [],
      stdout: failing('EPIPE'),
      stderr: err.stream,
    });
    assert.equal(code, 0);
    assert.equal(err.text(), '');
  });

  it('another write error returns 1 with a message', async () => {
    const err = collector();
    const code = await decode({
      files: [join(FIXTURES, 'netflow5_test_microtik.dat'), join(FIXTURES, 'netflow5.dat')],
      overrides: [],
      stdout: failing('EIO'),
      stderr: err.stream,
    });
    assert.equal(code, 1);
    assert.equal(err.text(), 'flowship: cannot write the documents to stdout: write EIO\n');
  });

  it('writes every document when stdout works', async () => {
    const out = collector();
    const err = collector();
    const code = await decode({
      files: [join(FIXTURES, 'netflow5_test_microtik.dat')],
      overrides: [],
      stdout: out.stream,
      stderr: err.stream,
    });
    assert.equal(code, 0, err.text());
    assert.equal(
      out
        .text()
        .split('\n')
        .filter((l) => l !== '').length,
      30,
    );
    assert.match(err.text(), /decoded 30 records from 1 packets in 1 files; 0 decode errors; 0 truncated/);
  });
});

describe('flowship decode: max_message_size', { timeout: 60_000 }, () => {
  it('cuts datagrams as run does, so both give the same documents', async () => {
    const port = await freeUdpPort();
    const config = join(dir, 'truncating.yml');
    const out = join(dir, 'out');
    mkdirSync(out);
    writeFileSync(
      config,
      [
        'flowship.inputs:',
        '  - type: netflow',
        '    host: 127.0.0.1',
        `    port: ${port}`,
        '    max_message_size: 1000',
        'output.file:',
        `  path: ${out}`,
        `path.data: ${join(dir, 'data')}`,
        'queue.mem.flush.timeout: 100ms',
        '',
      ].join('\n'),
    );
    const run = startFlowship(['run', '-c', config]);
    const exporter = createSocket('udp4');
    try {
      await run.waitFor(/flowship started/);
      await new Promise<void>((resolve) => exporter.bind(0, '127.0.0.1', resolve));
      for (const datagram of [V5, V5_SMALL]) {
        await new Promise<void>((resolve, reject) =>
          exporter.send(datagram, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
        );
      }
      await run.waitFor(/cannot decode datagram/);
      const readOut = () =>
        readdirSync(out).flatMap((n) =>
          readFileSync(join(out, n), 'utf8')
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => JSON.parse(l) as Doc),
        );
      await eventually(() => (readOut().length >= 2 ? true : undefined), 20_000, "run's documents");
      assert.equal(await run.stop('SIGTERM'), 0, run.stderr());
      const shipped = readOut();
      assert.equal(shipped.length, 2, 'the 1464-byte datagram was cut to 1000 bytes: a decode error');

      const capture = join(dir, 'as-sent.dat');
      writeFileSync(capture, Buffer.concat([V5, V5_SMALL]));
      const r = decodeProcess(['-c', config, '--exporter', `127.0.0.1:${exporter.address().port}`, capture]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(
        r.stderr,
        /as-sent\.dat: packet 1 from 127\.0\.0\.1:\d+: 1464 bytes, truncated to max_message_size \(1000 bytes\)/,
      );
      assert.match(
        r.stderr,
        /decoded 2 records from 2 packets in 1 files; 1 decode errors; 1 truncated to max_message_size/,
      );
      const decoded = r.stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Doc);
      assert.deepEqual(decoded.map(withoutCreated).sort(), shipped.map(withoutCreated).sort());
    } finally {
      exporter.close();
      await run.stop('SIGKILL');
    }
  });
});
