/**
 * A read that fails while the reader is delivering the previous chunk (the read-ahead): counted,
 * logged, the reader closed for the next scan to retry; never an unhandled rejection.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FileHandlePort } from '../../../src/inputs/goflow2/fs-port.ts';
import { MemoryFs } from '../../../src/inputs/goflow2/memory-fs.ts';
import { MemoryRegistryStore } from '../../../src/inputs/goflow2/registry.ts';
import { Tailer } from '../../../src/inputs/goflow2/tailer.ts';
import { createLogger } from '../../../src/monitoring/logger.ts';
import { eventually } from '../../helpers/process.ts';
import { testClock } from './helpers.ts';

describe('reader read errors', () => {
  it('a failing read-ahead is a counted read error, retried later; the lines before it arrive', async () => {
    const fs = new MemoryFs({ now: () => Date.now() });
    fs.mkdir('/logs');
    let text = '';
    for (let i = 0; i < 2000; i++) text += `{"n":${i},"pad":"${'x'.repeat(50)}"}\n`;
    fs.writeFile('/logs/a.log', text);
    const open = fs.open.bind(fs);
    let failing = true;
    fs.open = async (path: string): Promise<FileHandlePort> => {
      const handle = await open(path);
      return {
        ...handle,
        read: (buffer: Buffer, offset: number, length: number, position: number) =>
          failing && position > 60_000
            ? new Promise<number>((_, reject) =>
                setTimeout(() => reject(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' })), 5),
              )
            : handle.read(buffer, offset, length, position),
      };
    };
    const delivered: number[] = [];
    const logs: string[] = [];
    const tailer = new Tailer({
      id: 'x',
      registryStore: new MemoryRegistryStore(),
      fs,
      clock: testClock,
      paths: ['/logs/*.log'],
      bufferSize: 4096,
      checkIntervalMs: 100,
      backoffInitMs: 10,
      backoffMaxMs: 100,
      logger: createLogger({ level: 'warning', sink: (line) => logs.push(line) }),
      onLine: async (line) => {
        delivered.push(line.offset);
        line.acks(0);
        await new Promise((resolve) => setTimeout(resolve, 1));
      },
    });
    try {
      await tailer.start();
      await eventually(() => (tailer.stats.read_errors_total > 0 ? true : undefined), 10_000, 'a read error');
      assert.ok(logs.some((l) => l.includes('read failed; retried at the next scan')));
      assert.ok(delivered.length > 0 && delivered.every((offset) => offset < 60_000 + 4096));
      failing = false; // the disk recovers: the next scan's reader goes on to the end
      await eventually(() => (tailer.entries()[0]?.ackedOffset === text.length ? true : undefined), 20_000);
      assert.equal(new Set(delivered).size, 2000);
    } finally {
      await tailer.stop({ timeoutMs: 0 });
    }
  });
});
