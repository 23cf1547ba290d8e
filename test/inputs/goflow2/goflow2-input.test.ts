/**
 * The goflow2 input end to end in one process: a real file -> tailer -> mapper -> events with
 * their JSON text, lazily computed ids (TAILER.md §7.5) and ack handles that move the registry.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Goflow2Normalizer } from '../../../src/ecs/goflow2.ts';
import { documentId } from '../../../src/ecs/goflow2-id.ts';
import { Goflow2Input } from '../../../src/inputs/goflow2/goflow2-input.ts';
import type { EventSink } from '../../../src/inputs/input.ts';
import { createLogger } from '../../../src/monitoring/logger.ts';
import { type Event, eventId } from '../../../src/pipeline/event.ts';
import { eventually } from '../../helpers/process.ts';
import { removeDir, tempDir, testClock } from './helpers.ts';

const LINE_A =
  '{"type":"SFLOW_5","time_flow_start_ns":1722384059314899647,"sampler_address":"67.43.156.1","sequence_num":1,"src_addr":"216.160.83.57","dst_addr":"216.160.83.58","etype":"IPv4","proto":"TCP","sampling_rate":1000,"bytes":70}';
const LINE_B = LINE_A.replace('"sequence_num":1', '"sequence_num":2');

describe('goflow2 input', () => {
  it('ships each line as JSON text with its deterministic id, split parts numbered', async () => {
    const dir = await tempDir();
    try {
      const text = `${LINE_A}\n${LINE_A}${LINE_B}\n`;
      await writeFile(join(dir, 'goflow2.log'), text);
      const events: Event[] = [];
      const sink: EventSink = {
        tryPublish: () => false,
        publish: async (event) => {
          events.push(event);
          event.ack?.ack();
        },
      };
      const input = new Goflow2Input({
        id: 'sflow',
        tailer: { dataDir: join(dir, 'data'), paths: [join(dir, '*.log')], wakeup: false, clock: testClock },
        normalizer: new Goflow2Normalizer({ timezone: 'UTC' }),
        sink,
        logger: createLogger({ level: 'error' }),
      });
      await input.start();
      await eventually(() => events.length === 3 || undefined, 10_000, 'three events');
      const entry = await eventually(
        () => input.tailer.entries().find((e) => e.ackedOffset === Buffer.byteLength(text)),
        10_000,
        'the whole file acknowledged',
      );
      await input.stop();

      const docs = events.map((e) => JSON.parse(e.json ?? ''));
      assert.deepEqual(
        docs.map((d) => [d.sflow.sequence_num, d.log.offset]),
        [
          [1, 0],
          [1, LINE_A.length + 1],
          [2, 2 * LINE_A.length + 1],
        ],
      );
      const second = `${LINE_A}${LINE_B}`;
      assert.deepEqual(
        events.map((e) => eventId(e)),
        [
          documentId('sflow', entry.fp, 0, 0, LINE_A),
          documentId('sflow', entry.fp, LINE_A.length + 1, 0, second),
          documentId('sflow', entry.fp, LINE_A.length + 1, 1, second),
        ],
      );
      assert.equal(typeof events[0].id, 'string', 'computed once, then kept');
    } finally {
      await removeDir(dir);
    }
  });
});
