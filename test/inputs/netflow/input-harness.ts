/**
 * A real NetflowInput on 127.0.0.1 (an ephemeral port) for the input's tests: the default
 * netflow configuration, a sink that keeps every event, the log lines, and a metrics registry.
 * Inputs are stopped after each test.
 */
import { afterEach } from 'node:test';
import { loadConfig } from '../../../src/config/load.ts';
import type { NetflowInputConfig } from '../../../src/config/schema.ts';
import type { EventSink } from '../../../src/inputs/input.ts';
import { NetflowInput, type NetflowInputOptions } from '../../../src/inputs/netflow/netflow-input.ts';
import { buildNetflowParts } from '../../../src/inputs/netflow/parts.ts';
import { createLogger } from '../../../src/monitoring/logger.ts';
import { MetricsRegistry } from '../../../src/monitoring/metrics.ts';
import type { Event } from '../../../src/pipeline/event.ts';

export interface InputHarness {
  input: NetflowInput;
  lines: string[];
  events: Event[];
  metrics: MetricsRegistry;
}

/** The default netflow input configuration. */
export const CONFIG = loadConfig({
  text: 'flowship.inputs: [{type: netflow}]\noutput.console: {}\n',
  env: {},
}).flowship.inputs[0] as NetflowInputConfig;

const inputs: NetflowInput[] = [];
afterEach(async () => {
  await Promise.all(inputs.splice(0).map((i) => i.stop()));
});

/** An input built from the default configuration (with `compatibility` as overridden), not started. */
export function inputHarness(overrides: Partial<NetflowInputOptions> = {}): InputHarness {
  const config =
    overrides.compatibility === undefined ? CONFIG : { ...CONFIG, compatibility: overrides.compatibility };
  const { dictionary, normalizer } = buildNetflowParts(config);
  const lines: string[] = [];
  const events: Event[] = [];
  const metrics = new MetricsRegistry();
  const sink: EventSink = {
    tryPublish: (event) => {
      events.push(event);
      return true;
    },
    publish: async (event) => {
      events.push(event);
    },
  };
  const input = new NetflowInput({
    id: 'netflow',
    host: '127.0.0.1',
    port: 0,
    network: 'udp4',
    protocols: config.protocols,
    maxMessageSize: config.max_message_size,
    queueSize: 1000,
    expirationTimeoutMs: 0,
    detectSequenceReset: true,
    shareTemplates: false,
    compatibility: config.compatibility,
    pending: {
      maxAgeMs: config.pending_data.max_age,
      maxSetsPerTemplate: config.pending_data.max_sets_per_template,
      maxSetsPerExporter: config.pending_data.max_sets_per_exporter,
      maxBytesPerExporter: config.pending_data.max_bytes_per_exporter,
      maxBytes: config.pending_data.max_bytes,
    },
    dictionary,
    normalizer,
    sink,
    logger: createLogger({ sink: (line) => lines.push(line) }),
    metrics,
    ...overrides,
  });
  inputs.push(input);
  return { input, lines, events, metrics };
}

/** Polls `check` every 10 ms until it holds; fails after 5 s naming `what`. */
export async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
