/**
 * `flowship decode FILE...`: decode NetFlow/IPFIX captures (pcap, pcapng, raw .dat) into the ECS
 * documents `run` would ship, one JSON document per line on stdout. Template state carries across
 * packets and files in the order given. Exit 1 only when a file cannot be read; decode errors are
 * reported on stderr and counted.
 */
import { once } from 'node:events';
import { loadConfig } from '../config/load.ts';
import type { NetflowInputConfig } from '../config/schema.ts';
import { parseIp } from '../ecs/ip.ts';
import { NetflowDecoder } from '../inputs/netflow/decoder/decoder.ts';
import { decodeCaptureFile, type OfflineDecodeSummary } from '../inputs/netflow/offline.ts';
import { FlowshipError } from '../util/errors.ts';
import { buildNetflowParts } from './netflow.ts';

export interface DecodeOptions {
  readonly files: readonly string[];
  readonly configFile?: string;
  readonly overrides: readonly string[];
  /** `IP:PORT` given to `.dat` packets, which carry no address. */
  readonly exporter?: string;
  readonly stdout?: NodeJS.WritableStream;
  readonly stderr?: NodeJS.WritableStream;
}

const DEFAULT_EXPORTER = { ip: '192.0.2.1', port: 4444 };

function parseExporter(text: string): { ip: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  const port = m === null ? Number.NaN : Number(m[2]);
  if (m === null || parseIp(m[1]) === undefined || !(port >= 0 && port <= 65535)) {
    throw new FlowshipError('FLOWSHIP_USAGE', `--exporter must be IP:PORT or [IPv6]:PORT, got '${text}'`);
  }
  return { ip: m[1], port };
}

/** The first netflow input of the configuration, or the defaults when no file is given. */
function netflowConfig(options: DecodeOptions): NetflowInputConfig {
  const config =
    options.configFile === undefined
      ? loadConfig({
          text: 'flowship.inputs: [{type: netflow}]\noutput.console: {}\n',
          overrides: [...options.overrides],
        })
      : loadConfig({ file: options.configFile, overrides: [...options.overrides] });
  const input = config.flowship.inputs.find((i) => i.type === 'netflow');
  if (input === undefined)
    throw new FlowshipError('FLOWSHIP_CONFIG', 'the configuration has no netflow input');
  return input;
}

export async function decode(options: DecodeOptions): Promise<number> {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  if (options.files.length === 0) throw new FlowshipError('FLOWSHIP_USAGE', 'decode needs at least one file');
  const config = netflowConfig(options);
  const exporter = options.exporter === undefined ? DEFAULT_EXPORTER : parseExporter(options.exporter);
  const { dictionary, normalizer } = buildNetflowParts(config);
  // offline: no expiry, the capture's own order is the clock
  const decoder = new NetflowDecoder({
    dictionary,
    compatibility: config.compatibility,
    protocols: config.protocols,
    shareTemplates: config.share_templates,
    detectSequenceReset: config.detect_sequence_reset,
    expirationTimeoutMs: 0,
  });
  const summary: OfflineDecodeSummary = { datagrams: 0, records: 0, errors: 0 };
  let buffered: string[] = [];
  const flush = async () => {
    if (buffered.length === 0) return;
    const chunk = buffered.join('');
    buffered = [];
    if (!stdout.write(chunk)) await once(stdout, 'drain');
  };
  let unreadable = 0;
  for (const file of options.files) {
    try {
      const records = decodeCaptureFile(
        file,
        {
          decoder,
          exporter,
          onError: (err, where) =>
            stderr.write(
              `${where.file}: packet ${where.frame} from ${where.exporter}: ${err.reason}: ${err.message}\n`,
            ),
        },
        summary,
      );
      for (const record of records) {
        buffered.push(`${JSON.stringify(normalizer.normalize(record))}\n`);
        if (buffered.length >= 512) await flush();
      }
    } catch (err) {
      if (!(err instanceof FlowshipError)) throw err;
      unreadable++;
      stderr.write(`${file}: ${err.message}\n`);
    }
    await flush();
  }
  stderr.write(
    `decoded ${summary.records} records from ${summary.datagrams} packets in ${options.files.length - unreadable} files; ${summary.errors} decode errors\n`,
  );
  return unreadable > 0 ? 1 : 0;
}
