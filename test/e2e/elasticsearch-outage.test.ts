/**
 * An Elasticsearch outage under load: NetFlow flows arrive over UDP and GoFlow2 lines are
 * appended to a file while Elasticsearch is stopped for a while and started again. UDP cannot
 * wait, so the netflow input writes through the disk queue; the file input simply stops reading.
 * Afterwards every flow and every line is in Elasticsearch exactly once, counted by a field that
 * is unique per flow and per line (`source.ip`).
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
import { type Spawned, startFlowship } from '../helpers/process.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Flows per datagram and lines per tick; one tick every TICK_MS. */
const PER_TICK = 30;
const TICK_MS = 20;

describe('Elasticsearch outage under load', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowship-es-outage-'));
  let es: RunningElasticsearch | undefined;
  let run: Spawned | undefined;

  after(async () => {
    await run?.stop('SIGKILL');
    await es?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every flow (through the disk queue) and every line is indexed once after Elasticsearch comes back', async () => {
    es = await startElasticsearch();
    const { cfg, port, httpPort, logs } = await writeShippingConfig(dir, es.url, {
      output: ['flush_interval: 200ms', 'timeout: 5s', 'backoff: {init: 100ms, max: 1s}'],
      // a small memory queue: the outage fills it within a second and the spill is real
      queueMem: '{events: 1024, flush: {min_events: 512, timeout: 100ms}}',
    });
    run = startFlowship(['run', '-c', cfg]);
    await run.waitFor(/flowship started/);

    const socket = createSocket('udp4');
    let flows = 0;
    let lines = 0;
    let loading = true;
    const load = (async () => {
      while (loading) {
        socket.send(netflowV5Datagram(flows, PER_TICK), port, '127.0.0.1');
        flows += PER_TICK;
        let text = '';
        for (let i = 0; i < PER_TICK; i++) text += numberedGoflow2Line(++lines);
        appendFileSync(join(logs, 'sflow.log'), text);
        await sleep(TICK_MS);
      }
    })();

    await sleep(3000);
    const beforeOutage = await countDocs(es, 'logs-netflow.log-default');
    assert.ok(beforeOutage > 0, 'flows are indexed before the outage');
    await es.stop();
    await sleep(10_000);
    await es.restart();
    await sleep(3000);
    loading = false;
    await load;
    socket.close();

    await assertIndexedOnce(es, 'logs-netflow.log-default', flows, 'flows');
    await assertIndexedOnce(es, 'logs-goflow2.sflow-default', lines, 'lines');
    // the output saw the outage, and every flow went through the disk queue, none dropped
    assert.match(run.stderr(), /bulk request failed|cannot use Elasticsearch/);
    assert.equal(await readMetric(httpPort, 'flowship_diskqueue_appended_total'), flows);
    assert.equal(await readMetric(httpPort, 'flowship_diskqueue_dropped_total'), 0);
    assert.equal(await readMetric(httpPort, 'flowship_netflow_dropped_events_total'), 0);
    assert.equal(await run.stop('SIGTERM'), 0, run.stderr());
    run = undefined;
  });
});
