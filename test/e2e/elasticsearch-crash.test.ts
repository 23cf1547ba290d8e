/**
 * Crashes under load, against a real Elasticsearch: flowship ships NetFlow flows (UDP, through
 * the disk queue) and GoFlow2 lines (a file written all along) and is killed with SIGKILL while
 * batches are in flight, then started again, several times. At the end every flow and every
 * line is in Elasticsearch exactly once, counted by a field unique per flow and per line
 * (`source.ip`): what was not acknowledged is sent again after the restart (the disk queue's
 * ledger, the file registry), and what Elasticsearch had already indexed comes back as a 409 on
 * its deterministic `_id` instead of a second document.
 *
 * A flow counts as received once the disk queue has accepted it (`flowship_diskqueue_appended_total`):
 * UDP datagrams still in the kernel's socket buffer when the process dies are not flowship's
 * to lose, so bursts are sent while flowship is up and the kill waits until they are accepted.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type RunningElasticsearch, startElasticsearch } from '../helpers/elasticsearch.ts';
import { assertIndexedOnce, countDocs, numberedGoflow2Line } from '../helpers/es-checks.ts';
import { readMetric, writeShippingConfig } from '../helpers/es-shipping.ts';
import { netflowV5Datagram } from '../helpers/netflow-v5.ts';
import { eventually, type Spawned, startFlowship } from '../helpers/process.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ROUNDS = 4;
/** Flows per burst (30 per datagram). */
const BURST = 6000;

describe('SIGKILL mid-batch with Elasticsearch', { timeout: 400_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowship-es-crash-'));
  let es: RunningElasticsearch | undefined;
  let run: Spawned | undefined;
  let writing = true;
  const socket = createSocket('udp4');

  after(async () => {
    writing = false;
    socket.close();
    await run?.stop('SIGKILL');
    await es?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('no flow and no line is lost or indexed twice', async () => {
    es = await startElasticsearch();
    const { cfg, port, httpPort, logs } = await writeShippingConfig(dir, es.url, {
      output: ['bulk_max_size: 500', 'flush_interval: 100ms', 'backoff: {init: 100ms, max: 1s}'],
      queueMem: '{events: 2048, flush: {min_events: 500, timeout: 100ms}}',
      goflow2: 'flowship.registry.flush: 200ms',
    });

    let lines = 0;
    const writer = (async () => {
      while (writing) {
        let text = '';
        for (let i = 0; i < 20; i++) text += numberedGoflow2Line(++lines);
        appendFileSync(join(logs, 'sflow.log'), text);
        await sleep(10);
      }
    })();

    let flows = 0;
    let midBatchKills = 0;
    for (let round = 0; round < ROUNDS; round++) {
      run = startFlowship(['run', '-c', cfg]);
      await run.waitFor(/flowship started/, 30_000);
      const first = flows;
      for (let k = 0; k < BURST; k += 30) {
        socket.send(netflowV5Datagram(first + k, 30), port, '127.0.0.1');
        // about 20k flows/s: what a busy flowship still reads before the socket buffer overflows
        if (k % 60 === 0) await sleep(3);
      }
      flows += BURST;
      // every flow of the burst is in the disk queue: from here on it is flowship's to deliver
      await eventually(
        async () =>
          (await readMetric(httpPort, 'flowship_diskqueue_appended_total')) >= BURST ? true : undefined,
        30_000,
        `round ${round}: ${BURST} flows accepted`,
      );
      await sleep(Math.floor(Math.random() * 300));
      const indexed = await countDocs(es, 'logs-netflow.log-default');
      if (indexed < flows) midBatchKills++;
      await run.stop('SIGKILL');
      run = undefined;
    }
    writing = false;
    await writer;
    assert.ok(midBatchKills > 0, 'at least one kill came while flows were still on their way');

    run = startFlowship(['run', '-c', cfg]);
    await run.waitFor(/flowship started/, 30_000);
    await assertIndexedOnce(es, 'logs-netflow.log-default', flows, 'flows');
    await assertIndexedOnce(es, 'logs-goflow2.sflow-default', lines, 'lines');
    // the output saw documents indexed before the crash again, and answered them as duplicates
    const duplicatesSeen = await readMetric(
      httpPort,
      'flowship_elasticsearch_events_total\\{outcome="duplicate"\\}',
    );
    assert.equal(await run.stop('SIGTERM'), 0, run.stderr());
    run = undefined;
    process.stdout.write(
      `# ${flows} flows and ${lines} lines, ${ROUNDS} kills (${midBatchKills} with flows in flight); ${duplicatesSeen} replays answered 409 after the last start\n`,
    );
  });
});
