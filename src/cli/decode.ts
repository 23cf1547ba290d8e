/**
 * `flowship decode FILE...`: decode NetFlow/IPFIX captures (pcap, pcapng, raw .dat) and GoFlow2
 * JSON logs (`.log`, `.json`, `.ndjson`, `-` for stdin) into the ECS documents `run` would ship,
 * one JSON document per line on stdout. Template state carries across packets and files in the
 * order given, and datagrams longer than the input's `max_message_size`
 * are cut as `run` cuts them. Exit 1 when a file cannot be read or stdout fails; decode errors
 * are reported on stderr and counted. A reader that goes away (`flowship decode … | head`, EPIPE)
 * ends decoding quietly with exit 0.
 */
import { loadConfig } from '../config/load.ts';
import type { Goflow2InputConfig, NetflowInputConfig } from '../config/schema.ts';
import { parseIp } from '../ecs/ip.ts';
import { decodeLogFile, type OfflineLogOptions, type OfflineLogSummary } from '../inputs/goflow2/offline.ts';
import { pipeLines } from '../inputs/goflow2/stdin.ts';
import { NetflowDecoder } from '../inputs/netflow/decoder/decoder.ts';
import { CaptureClock, decodeCaptureFile, type OfflineDecodeSummary } from '../inputs/netflow/offline.ts';
import { buildNetflowParts } from '../inputs/netflow/parts.ts';
import { FlowshipError } from '../util/errors.ts';
import { buildGoflow2Normalizer } from './goflow2.ts';

/** GoFlow2 lines from standard input, read and mapped as the stdin input does, as they arrive. */
async function* stdinDocuments(options: OfflineLogOptions, summary: OfflineLogSummary) {
  const onTooLong = () => summary.tooLong++;
  for await (const line of pipeLines(process.stdin, options.messageMaxBytes, onTooLong)) {
    summary.lines++;
    for (const part of options.normalizer.map(line, { input: 'stdin' })) {
      summary.documents++;
      yield part;
    }
  }
}

/** path.data of the configuration, if one is given (decode reads the agent id kept there). */
function dataDir(options: DecodeOptions): string | undefined {
  return options.configFile === undefined
    ? undefined
    : loadConfig({ file: options.configFile, overrides: [...options.overrides] }).path.data;
}

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

/**
 * The first netflow and the first goflow2 input of the configuration; an input type the file does
 * not configure (or no file at all) gets its defaults.
 */
function inputConfigs(options: DecodeOptions): { netflow: NetflowInputConfig; goflow2: Goflow2InputConfig } {
  const overrides = [...options.overrides];
  const defaults = loadConfig({
    text: 'flowship.inputs: [{type: netflow}, {type: goflow2, id: goflow2}]\noutput.console: {}\n',
    overrides: options.configFile === undefined ? overrides : [],
  }).flowship.inputs;
  const inputs =
    options.configFile === undefined
      ? defaults
      : loadConfig({ file: options.configFile, overrides }).flowship.inputs;
  const netflow = inputs.find((i): i is NetflowInputConfig => i.type === 'netflow');
  const goflow2 = inputs.find((i): i is Goflow2InputConfig => i.type === 'goflow2');
  return {
    netflow: netflow ?? (defaults[0] as NetflowInputConfig),
    goflow2: goflow2 ?? (defaults[1] as Goflow2InputConfig),
  };
}

/** GoFlow2 JSON lines (`-` is standard input); anything else is a NetFlow/IPFIX capture. */
export function isGoflow2Log(file: string): boolean {
  return file === '-' || /\.(log|json|ndjson)(\.\d+)?$/i.test(file);
}

export async function decode(options: DecodeOptions): Promise<number> {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  if (options.files.length === 0) throw new FlowshipError('FLOWSHIP_USAGE', 'decode needs at least one file');
  const inputs = inputConfigs(options);
  const config = inputs.netflow;
  const goflow2 = inputs.goflow2;
  const goflow2Options = {
    inputId: goflow2.id,
    normalizer: buildGoflow2Normalizer(goflow2, { dataDir: dataDir(options), persist: false }),
    messageMaxBytes: goflow2.message_max_bytes,
    fingerprint: goflow2.prospector.scanner.fingerprint,
    fileIdentity: goflow2.file_identity,
  };
  const logSummary: OfflineLogSummary = { lines: 0, documents: 0, tooLong: 0, partialTailBytes: 0 };
  const exporter = options.exporter === undefined ? DEFAULT_EXPORTER : parseExporter(options.exporter);
  const { dictionary, normalizer } = buildNetflowParts(config);
  // offline: no expiry, the capture's own order is the clock; data before its template waits
  // for it as under `run`, aged by the capture's time
  const clock = new CaptureClock();
  const decoder = new NetflowDecoder({
    dictionary,
    compatibility: config.compatibility,
    protocols: config.protocols,
    shareTemplates: config.share_templates,
    detectSequenceReset: config.detect_sequence_reset,
    expirationTimeoutMs: 0,
    pending: {
      maxAgeMs: config.pending_data.max_age,
      maxSetsPerTemplate: config.pending_data.max_sets_per_template,
      maxBytes: config.pending_data.max_bytes,
    },
    now: clock.now,
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
      if (isGoflow2Log(file)) {
        const docs =
          file === '-'
            ? stdinDocuments(goflow2Options, logSummary)
            : decodeLogFile(file, goflow2Options, logSummary);
        for await (const { json } of docs) {
          buffered.push(`${json}\n`);
          if (buffered.length >= 512 && !(await flush())) break files;
        }
        if (!(await flush())) break;
        continue;
      }
      const records = decodeCaptureFile(
        file,
        {
          decoder,
          clock,
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
          line = `${normalizer.normalizeJson(record)}\n`;
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
  const sawLogs = logSummary.lines > 0 || logSummary.tooLong > 0 || logSummary.partialTailBytes > 0;
  if (summary.datagrams > 0 || !sawLogs) {
    stderr.write(
      `decoded ${summary.records} records from ${summary.datagrams} packets in ${options.files.length - unreadable} files; ` +
        `${summary.errors} decode errors; ${summary.truncated} truncated to max_message_size\n`,
    );
  }
  if (sawLogs) {
    const failed = Object.values(goflow2Options.normalizer.stats.failures).reduce((a, b) => a + b, 0);
    stderr.write(
      `decoded ${logSummary.documents} GoFlow2 documents from ${logSummary.lines} lines; ${failed} error documents; ` +
        `${logSummary.tooLong} lines over message_max_bytes skipped; ` +
        `${logSummary.partialTailBytes} bytes of unterminated last lines not decoded\n`,
    );
  }
  return unreadable > 0 ? 1 : 0;
}
