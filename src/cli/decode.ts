/**
 * `flowship decode FILE...`: decode NetFlow/IPFIX captures (pcap, pcapng, raw .dat) into the ECS
 * documents `run` would ship, one JSON document per line on stdout. Template state carries across
 * packets and files in the order given, and datagrams longer than the input's `max_message_size`
 * are cut as `run` cuts them. Exit 1 when a file cannot be read or stdout fails; decode errors
 * are reported on stderr and counted. A reader that goes away (`flowship decode … | head`, EPIPE)
 * ends decoding quietly with exit 0.
 */
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
  const summary: OfflineDecodeSummary = { datagrams: 0, records: 0, errors: 0, truncated: 0 };
  // Without a listener, a write error (EPIPE when the reader exits) is an uncaught exception.
  let outputError: NodeJS.ErrnoException | undefined;
  const onOutputError = (err: NodeJS.ErrnoException) => {
    outputError ??= err;
  };
  stdout.on('error', onOutputError);
  let buffered: string[] = [];
  /** Writes what is buffered and waits until the stream has taken it; false once stdout failed. */
  const flush = async (): Promise<boolean> => {
    if (outputError === undefined && buffered.length > 0) {
      const chunk = buffered.join('');
      buffered = [];
      // The callback comes once the chunk is handed on (or failed), so it also paces a slow reader.
      await new Promise<void>((resolve) =>
        stdout.write(chunk, (err?: Error | null) => {
          if (err) outputError ??= err;
          resolve();
        }),
      );
    }
    return outputError === undefined;
  };
  let unreadable = 0;
  files: for (const file of options.files) {
    try {
      const records = decodeCaptureFile(
        file,
        {
          decoder,
          exporter,
          maxMessageSize: config.max_message_size,
          onError: (err, where) =>
            stderr.write(
              `${where.file}: packet ${where.frame} from ${where.exporter}: ${err.reason}: ${err.message}\n`,
            ),
          onTruncated: (where) =>
            stderr.write(
              `${where.file}: packet ${where.frame} from ${where.exporter}: ${where.length} bytes, ` +
                `truncated to max_message_size (${config.max_message_size} bytes)\n`,
            ),
        },
        summary,
      );
      for (const record of records) {
        let line: string;
        try {
          line = `${JSON.stringify(normalizer.normalize(record))}\n`;
        } catch (err) {
          // as `run` counts it: a decode error with reason internal, and on with the next record
          summary.errors++;
          stderr.write(
            `${file}: a record from ${record.exporter.address} failed: internal: ${(err as Error).message}\n`,
          );
          continue;
        }
        buffered.push(line);
        if (buffered.length >= 512 && !(await flush())) break files;
      }
    } catch (err) {
      if (!(err instanceof FlowshipError)) throw err;
      unreadable++;
      stderr.write(`${file}: ${err.message}\n`);
    }
    if (!(await flush())) break;
  }
  if (outputError !== undefined) {
    // The listener stays: the stream is finished, and a late second error must not be uncaught.
    if (outputError.code === 'EPIPE') return 0;
    stderr.write(`flowship: cannot write the documents to stdout: ${outputError.message}\n`);
    return 1;
  }
  stdout.off('error', onOutputError);
  stderr.write(
    `decoded ${summary.records} records from ${summary.datagrams} packets in ${options.files.length - unreadable} files; ` +
      `${summary.errors} decode errors; ${summary.truncated} truncated to max_message_size\n`,
  );
  return unreadable > 0 ? 1 : 0;
}
