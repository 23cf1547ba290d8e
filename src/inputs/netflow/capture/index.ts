/**
 * Opens a capture for `flowship decode`: a pcap/pcapng file (datagrams with their own addresses)
 * or a `.dat` file of raw export packets (addresses supplied by the caller).
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { FlowshipError } from '../../../util/errors.ts';
import { splitDat } from './dat.ts';
import {
  type CaptureStats,
  isCaptureMagic,
  newCaptureStats,
  notCaptureError,
  readPcap,
  type UdpDatagram,
} from './pcap.ts';

export { nextV9Start, splitDat } from './dat.ts';
export {
  type CaptureStats,
  isCaptureMagic,
  MAX_PENDING_FRAGMENTED,
  MAX_REASSEMBLED_BYTES,
  newCaptureStats,
  readPcap,
  type UdpDatagram,
} from './pcap.ts';

export interface ReadCaptureOptions {
  /** Source address given to the packets of a `.dat` file, which records none. Required for them. */
  exporter?: { ip: string; port: number };
  /** Receive time stamped on `.dat` packets (ms since the epoch), read once per file. Default `Date.now`. */
  now?: () => number;
  /** Counters to fill; a fresh object when omitted. Also returned as `CaptureFile.stats`. */
  stats?: CaptureStats;
}

export interface CaptureFile {
  kind: 'pcap' | 'dat';
  /**
   * The file's datagrams, read lazily in one pass. For `.dat` files: one per packet found by
   * `splitDat` (a v9 packet may hold several; see `nextV9Start`), with the caller's exporter as
   * source, `dstIp` '' and `dstPort` 0 (unknown), and `frame` = packet number from 1.
   */
  datagrams: Generator<UdpDatagram>;
  /** Filled while `datagrams` is iterated. */
  stats: CaptureStats;
}

const PCAP_EXTENSIONS = new Set(['.pcap', '.pcapng', '.cap', '.ntar']);
const NETFLOW_VERSIONS = new Set([1, 5, 6, 7, 8, 9, 10]);

/**
 * Reads `path` and decides its kind: pcap/pcapng by magic number; otherwise a `.pcap`-like name is
 * an error, and a `.dat` name (or any file starting with a NetFlow/IPFIX version) is raw packets.
 * Throws `FlowshipError` `FLOWSHIP_CAPTURE` for unreadable or unrecognised files, and
 * `FLOWSHIP_USAGE` for a `.dat` file without `options.exporter`.
 */
export function readCaptureFile(path: string, options: ReadCaptureOptions = {}): CaptureFile {
  const { exporter, now = Date.now, stats = newCaptureStats() } = options;
  let data: Uint8Array;
  try {
    data = readFileSync(path);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new FlowshipError('FLOWSHIP_CAPTURE', `${path}: cannot read capture file: ${reason}`, { cause });
  }
  if (isCaptureMagic(data)) return { kind: 'pcap', datagrams: readPcap(data, path, stats), stats };

  const extension = extname(path).toLowerCase();
  const looksLikeExport = data.length >= 2 && NETFLOW_VERSIONS.has((data[0] << 8) | data[1]);
  if (PCAP_EXTENSIONS.has(extension) || (extension !== '.dat' && !looksLikeExport)) {
    throw notCaptureError(data, path);
  }
  if (!exporter) {
    throw new FlowshipError(
      'FLOWSHIP_USAGE',
      `${path}: a .dat file holds raw export packets without addresses; give the exporter address ` +
        '(flowship decode --exporter IP:PORT)',
    );
  }
  return { kind: 'dat', datagrams: datDatagrams(data, exporter, now(), stats), stats };
}

function* datDatagrams(
  data: Uint8Array,
  exporter: { ip: string; port: number },
  timestampMs: number,
  stats: CaptureStats,
): Generator<UdpDatagram> {
  let frame = 0;
  for (const payload of splitDat(data)) {
    frame++;
    stats.frames++;
    stats.udp++;
    yield { payload, srcIp: exporter.ip, srcPort: exporter.port, dstIp: '', dstPort: 0, timestampMs, frame };
  }
}
