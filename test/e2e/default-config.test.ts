/**
 * `npm start` runs `flowship run -c flowship.yml`: the committed default configuration must start
 * with no Elasticsearch and write documents under ./data when NetFlow arrives on localhost:2055,
 * over IPv4 and IPv6 loopback.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readOutputDocs } from '../helpers/output.ts';
import { eventually, type Spawned, startFlowship } from '../helpers/process.ts';

const ROOT = join(import.meta.dirname, '../..');

function send(type: 'udp4' | 'udp6', host: string, payload: Buffer): Promise<void> {
  const socket = createSocket(type);
  return new Promise((resolve, reject) => {
    socket.send(payload, 2055, host, (err) => {
      socket.close();
      if (err) reject(err);
      else resolve();
    });
  });
}

describe('the default configuration (npm start)', { timeout: 60_000 }, () => {
  let dir: string;
  let flowship: Spawned;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flowship-default-'));
    copyFileSync(join(ROOT, 'flowship.yml'), join(dir, 'flowship.yml'));
    flowship = startFlowship(['run', '-c', 'flowship.yml'], { cwd: dir });
    await flowship.waitFor(/flowship started/);
  });

  after(async () => {
    await flowship?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens on localhost:2055 and writes NDJSON documents under ./data/events', async () => {
    const v5 = readFileSync(join(ROOT, 'fixtures/netflow/dat/netflow5_test_microtik.dat'));
    await send('udp4', '127.0.0.1', v5);
    await send('udp6', '::1', v5);
    const docs = await eventually(
      () => {
        const d = readOutputDocs(join(dir, 'data', 'events'));
        return d.length >= 60 ? d : undefined;
      },
      20_000,
      '60 documents',
    );
    assert.equal(docs.length, 60);
    const exporters = new Set(docs.map((d) => d.observer.ip[0]));
    assert.deepEqual([...exporters].sort(), ['127.0.0.1', '::1']);
    assert.ok(docs.every((d) => d.event.dataset === 'netflow.log' && d.netflow.exporter.version === 5));
  });

  it('exits 0 on SIGINT', async () => {
    assert.equal(await flowship.stop('SIGINT'), 0, flowship.stderr());
  });
});
