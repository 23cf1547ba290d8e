/**
 * The setup the Elasticsearch load tests share: a flowship configuration with a netflow input
 * on a free UDP port, a goflow2 input tailing `<dir>/logs/*.log`, the Elasticsearch output, the
 * disk queue and the monitoring endpoint; and reading one metric from that endpoint.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freeTcpPort } from './goflow2.ts';
import { freeUdpPort } from './process.ts';

export interface ShippingSetup {
  /** The configuration file. */
  cfg: string;
  /** The netflow input's UDP port. */
  port: number;
  /** The monitoring endpoint's port (`/metrics`). */
  httpPort: number;
  /** The directory the goflow2 input tails. */
  logs: string;
}

/**
 * Writes `<dir>/flowship.yml`: `output` and `queueMem` are the lines of the Elasticsearch output
 * (after `hosts`) and the memory queue setting, `goflow2` extra settings of the goflow2 input.
 */
export async function writeShippingConfig(
  dir: string,
  esUrl: string,
  options: { output: readonly string[]; queueMem: string; goflow2?: string },
): Promise<ShippingSetup> {
  const port = await freeUdpPort();
  const httpPort = await freeTcpPort();
  const logs = join(dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const cfg = join(dir, 'flowship.yml');
  const goflow2 = `prospector.scanner.check_interval: 200ms, backoff: {init: 50ms, max: 200ms}${options.goflow2 === undefined ? '' : `, ${options.goflow2}`}`;
  writeFileSync(
    cfg,
    [
      'flowship.inputs:',
      `  - {type: netflow, id: nf, host: 127.0.0.1, port: ${port}}`,
      `  - {type: goflow2, id: gf, paths: ["${logs}/*.log"], ${goflow2}}`,
      'output.elasticsearch:',
      `  hosts: ["${esUrl}"]`,
      ...options.output.map((line) => `  ${line}`),
      `queue.mem: ${options.queueMem}`,
      'queue.disk: {max_size: 256MiB}',
      `path.data: ${join(dir, 'data')}`,
      `http: {enabled: true, host: 127.0.0.1, port: ${httpPort}}`,
      '',
    ].join('\n'),
  );
  return { cfg, port, httpPort, logs };
}

/**
 * The value of metric `name` (a name, or a name with its `{labels}`) at `/metrics`; throws when
 * the metric is not there, so that a renamed metric fails the test instead of reading as 0.
 */
export async function readMetric(httpPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'm').exec(text);
  if (match === null) throw new Error(`no metric ${name} at /metrics`);
  return Number(match[1]);
}
