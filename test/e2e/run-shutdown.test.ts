/**
 * `flowship run` stops within its shutdown timeout even when the output cannot finish: here the
 * console output writes into a pipe nobody reads, so its write (and its close) never completes.
 * The drain timeout is 30 s (src/cli/run.ts), so this test takes about that long.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FLOWSHIP_BIN, freeUdpPort } from '../helpers/process.ts';

const V5 = readFileSync(join(import.meta.dirname, '../../fixtures/netflow/dat/netflow5_test_microtik.dat'));

describe('flowship run: shutdown with an output stuck on a full pipe', { timeout: 90_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowship-shutdown-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('exits soon after the drain timeout, reporting the output it left behind', async () => {
    const port = await freeUdpPort();
    const config = join(dir, 'flowship.yml');
    writeFileSync(
      config,
      [
        'flowship.inputs:',
        '  - type: netflow',
        '    host: 127.0.0.1',
        `    port: ${port}`,
        'output.console: {}',
        `path.data: ${join(dir, 'data')}`,
        'queue.mem.flush.timeout: 100ms',
        '',
      ].join('\n'),
    );
    // stdout is a pipe this test never reads: once the pipe and the stream buffer are full,
    // the console output's write never completes
    const child = spawn(process.execPath, [FLOWSHIP_BIN, 'run', '-c', config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pause();
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = once(child, 'exit');
    try {
      const deadline = Date.now() + 15_000;
      while (!/flowship started/.test(stderr)) {
        assert.ok(Date.now() < deadline, `flowship did not start:\n${stderr}`);
        assert.equal(child.exitCode, null, stderr);
        await new Promise((r) => setTimeout(r, 50));
      }
      // 50 x 30 documents of about 1 KB: far more than a pipe holds
      const exporter = createSocket('udp4');
      for (let i = 0; i < 50; i++) {
        await new Promise<void>((resolve, reject) =>
          exporter.send(V5, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
        );
        await new Promise((r) => setTimeout(r, 5));
      }
      exporter.close();
      await new Promise((r) => setTimeout(r, 1000));
      const stopped = Date.now();
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
      const [code, signal] = (await exited) as [number | null, string | null];
      clearTimeout(timer);
      const took = Date.now() - stopped;
      assert.equal(signal, null, `still alive ${Math.round(took / 1000)} s after SIGINT:\n${stderr}`);
      assert.equal(code, 0, stderr);
      assert.ok(took < 40_000, `took ${took} ms`);
      assert.match(stderr, /the output did not close within the stop timeout/);
      assert.match(stderr, /flowship stopped/);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
