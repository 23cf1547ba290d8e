/**
 * Reads UDP datagrams out of capture files, for `flowship decode` and the pcap conformance tests.
 *
 * Formats: classic pcap (both byte orders, microsecond and nanosecond magic) and pcapng (several
 * sections of either byte order, one IDB per interface with its own link type, `if_tsresol` and
 * `if_tsoffset`; EPB, SPB and the obsolete PB; other blocks skipped). Link layers: Ethernet with
 * stacked 802.1Q/802.1ad tags, Linux SLL and SLL2, raw IP, BSD NULL and OpenBSD LOOP. IPv4 (with
 * options) and IPv6 (with extension headers) are walked to UDP; fragments of either are
 * reassembled, within bounds.
 *
 * A file is read, never trusted: frames that are not UDP, or cut short by the snap length or the
 * end of the file, are counted in `CaptureStats` and skipped. Only a file that is not a capture at
 * all, or whose block structure is broken, throws (`FLOWSHIP_CAPTURE`).
 *
 * References: pcap draft-ietf-opsawg-pcap-04 §4-5; pcapng draft-ietf-opsawg-pcapng-03 §4;
 * link types from https://www.tcpdump.org/linktypes.html; RFC 791, RFC 8200, RFC 768, RFC 5952.
 */
import { formatIPv4, formatIPv6 } from '../../../ecs/ip.ts';
import { FlowshipError } from '../../../util/errors.ts';

/** One UDP datagram found in a capture, with the addresses the exporter sent it from and to. */
export interface UdpDatagram {
  /** UDP payload (the export packet). A view into the file's bytes unless reassembled. */
  payload: Uint8Array;
  /** Dotted IPv4, or IPv6 per RFC 5952 (lower case, longest zero run compressed). */
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  /** Capture time in whole milliseconds since the Unix epoch; 0 when the block carries none (SPB). */
  timestampMs: number;
  /** 1-based packet record number across the file, as Wireshark numbers frames; for a reassembled
   *  datagram, the frame of the fragment that completed it. */
  frame: number;
}

/** Counters filled while a capture is read. Pass one object to accumulate over several files. */
export interface CaptureStats {
  /** Packet records read (pcap records; pcapng EPB, SPB, PB). */
  frames: number;
  /** UDP datagrams returned (a reassembled datagram counts once). */
  udp: number;
  /** Frames that carry no UDP: other link types, ethertypes, protocols, malformed headers. */
  skipped: number;
  /** Frames cut short (snap length, end of file) before the end of their UDP datagram. */
  truncated: number;
  /** IP fragments of UDP datagrams held for reassembly. */
  fragments: number;
  /** Datagrams whose fragments were abandoned: over the bounds, inconsistent, or incomplete at the
   *  end of the file. */
  fragmentsDropped: number;
}

export function newCaptureStats(): CaptureStats {
  return { frames: 0, udp: 0, skipped: 0, truncated: 0, fragments: 0, fragmentsDropped: 0 };
}

/** Datagrams being reassembled at once; the oldest is abandoned to make room. */
export const MAX_PENDING_FRAGMENTED = 64;
/** Largest reassembled datagram (and largest sum of its fragments' bytes). */
export const MAX_REASSEMBLED_BYTES = 64 * 1024;

const PCAP_MAGIC_USEC = 0xa1b2c3d4;
const PCAP_MAGIC_NSEC = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** True when `data` starts with a classic pcap (either byte order or precision) or pcapng magic. */
export function isCaptureMagic(data: Uint8Array): boolean {
  if (data.length < 4) return false;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const be = view.getUint32(0, false);
  const le = view.getUint32(0, true);
  return (
    be === PCAPNG_SHB ||
    be === PCAP_MAGIC_USEC ||
    be === PCAP_MAGIC_NSEC ||
    le === PCAP_MAGIC_USEC ||
    le === PCAP_MAGIC_NSEC
  );
}

/**
 * Yields every UDP datagram of a pcap or pcapng file in file order. `name` is used in error
 * messages only. Throws `FlowshipError('FLOWSHIP_CAPTURE')` when `data` is not a capture file
 * (the message names the file and its first four bytes) or its structure is corrupt.
 */
export function* readPcap(
  data: Uint8Array,
  name: string,
  stats: CaptureStats = newCaptureStats(),
): Generator<UdpDatagram> {
  if (data.length < 4) throw notCaptureError(data, name);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const decoder = new FrameDecoder(stats);
  const magic = view.getUint32(0, false);
  const swapped = view.getUint32(0, true);
  if (magic === PCAPNG_SHB) {
    yield* readPcapng(data, view, name, decoder);
  } else if (magic === PCAP_MAGIC_USEC || magic === PCAP_MAGIC_NSEC) {
    yield* readClassic(data, view, name, false, magic === PCAP_MAGIC_NSEC, decoder);
  } else if (swapped === PCAP_MAGIC_USEC || swapped === PCAP_MAGIC_NSEC) {
    yield* readClassic(data, view, name, true, swapped === PCAP_MAGIC_NSEC, decoder);
  } else {
    throw notCaptureError(data, name);
  }
  decoder.finish();
}

/** The error for a file that is neither pcap nor pcapng: names the file and its first bytes. */
export function notCaptureError(data: Uint8Array, name: string): FlowshipError {
  const first = Array.from(data.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
  const what = data.length < 4 ? `${data.length} bytes, too short for a magic number` : `magic 0x${first}`;
  return new FlowshipError(
    'FLOWSHIP_CAPTURE',
    `${name}: not a pcap or pcapng file (${what}; expected a1b2c3d4 or a1b23c4d in either byte order, ` +
      'or 0a0d0d0a); raw NetFlow/IPFIX payloads belong in a .dat file',
  );
}

// ---------------------------------------------------------------------------------------------
// Classic pcap (draft-ietf-opsawg-pcap §4, §5), all fields in the writer's byte order:
//
//   file header (24 B)                         record header (16 B), then caplen bytes
//    0 magic u32  a1b2c3d4 us / a1b23c4d ns      0 ts_sec u32
//    4 version_major u16 (2), minor u16 (4)      4 ts_usec/ts_nsec u32 (per the magic)
//    8 thiszone i32 (0), 12 sigfigs u32 (0)      8 caplen u32  (bytes in the file)
//   16 snaplen u32                              12 origlen u32 (bytes on the wire)
//   20 linktype u32: bits 0-15 link type, 26-31 FCS flag and length
// ---------------------------------------------------------------------------------------------

function* readClassic(
  data: Uint8Array,
  view: DataView,
  name: string,
  le: boolean,
  nano: boolean,
  decoder: FrameDecoder,
): Generator<UdpDatagram> {
  if (data.length < 24) {
    throw new FlowshipError(
      'FLOWSHIP_CAPTURE',
      `${name}: pcap file header truncated (${data.length} of 24 bytes)`,
    );
  }
  const linktype = view.getUint32(20, le) & 0xffff;
  const fractionPerMs = nano ? 1_000_000 : 1_000;
  let off = 24;
  let frame = 0;
  while (off < data.length) {
    frame++;
    if (off + 16 > data.length) {
      decoder.stats.frames++;
      decoder.stats.truncated++;
      return;
    }
    const seconds = view.getUint32(off, le);
    const fraction = view.getUint32(off + 4, le);
    const caplen = view.getUint32(off + 8, le);
    const start = off + 16;
    // A record running past the end of the file (a capture cut mid-write) is decoded from what
    // is there; the IP and UDP lengths tell whether the datagram survived.
    const end = Math.min(start + caplen, data.length);
    const datagram = decoder.decode(
      linktype,
      data.subarray(start, end),
      seconds * 1000 + Math.floor(fraction / fractionPerMs),
      frame,
    );
    if (datagram) yield datagram;
    off = start + caplen;
  }
}

// ---------------------------------------------------------------------------------------------
// pcapng (draft-ietf-opsawg-pcapng-03 §4), every block in its section's byte order:
//
//   generic block               SHB 0x0a0d0d0a (§4.1)        IDB 1 (§4.2)
//    0 block type u32            8 byte-order magic 1a2b3c4d   8 linktype u16, reserved u16
//    4 block total length u32   12 major u16, minor u16       12 snaplen u32
//    8 body (padded to 32 bit)  16 section length i64 (-1)    16 options
//   -4 block total length u32   24 options
//
//   EPB 6 (§4.3)                 SPB 3 (§4.4)                 PB 2 (obsolete, Appendix A)
//    8 interface id u32           8 original length u32        8 interface id u16, drops u16
//   12 timestamp high u32        12 packet data               12 timestamp high u32
//   16 timestamp low u32            (caplen = min(original,    16 timestamp low u32
//   20 captured length u32           block length - 16))       20 captured length u32
//   24 original length u32                                     24 original length u32
//   28 packet data, options                                    28 packet data, options
//
//   option: code u16, length u16, value padded to 32 bit; code 0 ends the list.
//   if_tsresol (9, 1 B): bit 7 clear -> units of 10^-n s, set -> 2^-n s; default 10^-6.
//   if_tsoffset (14, i64): seconds added to every timestamp of the interface.
// ---------------------------------------------------------------------------------------------

const BLOCK_IDB = 1;
const BLOCK_PB = 2;
const BLOCK_SPB = 3;
const BLOCK_EPB = 6;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;

interface Interface {
  linktype: number;
  snaplen: number;
  /** Timestamp units per second, and the offset (ms) added after conversion. */
  unitsPerSecond: bigint;
  offsetMs: number;
}

function* readPcapng(
  data: Uint8Array,
  view: DataView,
  name: string,
  decoder: FrameDecoder,
): Generator<UdpDatagram> {
  let le = true;
  let interfaces: Interface[] = [];
  let frame = 0;
  let off = 0;
  // Fewer than 8 trailing bytes cannot start a block: ignored like any unknown tail.
  while (off + 8 <= data.length) {
    const type = view.getUint32(off, le);
    if (type === PCAPNG_SHB) {
      if (off + 12 > data.length) return;
      const bom = view.getUint32(off + 8, true);
      if (bom === PCAPNG_BYTE_ORDER_MAGIC) le = true;
      else if (view.getUint32(off + 8, false) === PCAPNG_BYTE_ORDER_MAGIC) le = false;
      else {
        throw new FlowshipError(
          'FLOWSHIP_CAPTURE',
          `${name}: pcapng section header at offset ${off} has byte-order magic 0x${hex32(bom)}, not 1a2b3c4d`,
        );
      }
      interfaces = [];
    }
    const blockLength = view.getUint32(off + 4, le);
    if (blockLength < 12 || blockLength % 4 !== 0) {
      throw new FlowshipError(
        'FLOWSHIP_CAPTURE',
        `${name}: corrupt pcapng block at offset ${off} (type 0x${hex32(type)}, length ${blockLength})`,
      );
    }
    const partial = off + blockLength > data.length;
    const bodyEnd = partial ? data.length : off + blockLength - 4;

    if (type === BLOCK_IDB) {
      if (off + 16 <= bodyEnd) interfaces.push(readInterface(view, off, bodyEnd, le));
    } else if (type === BLOCK_EPB || type === BLOCK_PB || type === BLOCK_SPB) {
      frame++;
      const datagram = readPacketBlock(data, view, off, bodyEnd, le, type, interfaces, frame, decoder);
      if (datagram) yield datagram;
    }
    if (partial) return;
    off += blockLength;
  }
}

function readInterface(view: DataView, off: number, bodyEnd: number, le: boolean): Interface {
  const iface: Interface = {
    linktype: view.getUint16(off + 8, le),
    snaplen: view.getUint32(off + 12, le),
    unitsPerSecond: 1_000_000n,
    offsetMs: 0,
  };
  let opt = off + 16;
  while (opt + 4 <= bodyEnd) {
    const code = view.getUint16(opt, le);
    const length = view.getUint16(opt + 2, le);
    if (code === 0) break;
    const value = opt + 4;
    if (value + length > bodyEnd) break;
    if (code === OPT_IF_TSRESOL && length >= 1) {
      const resol = view.getUint8(value);
      const exponent = BigInt(resol & 0x7f);
      // 2^-127 or 10^-127 s units are nonsense; keep the default rather than overflow.
      if ((resol & 0x80) === 0) {
        if (exponent <= 18n) iface.unitsPerSecond = 10n ** exponent;
      } else if (exponent <= 63n) {
        iface.unitsPerSecond = 1n << exponent;
      }
    } else if (code === OPT_IF_TSOFFSET && length >= 8) {
      iface.offsetMs = Number(view.getBigInt64(value, le)) * 1000;
    }
    opt = value + ((length + 3) & ~3);
  }
  return iface;
}

function readPacketBlock(
  data: Uint8Array,
  view: DataView,
  off: number,
  bodyEnd: number,
  le: boolean,
  type: number,
  interfaces: Interface[],
  frame: number,
  decoder: FrameDecoder,
): UdpDatagram | undefined {
  const stats = decoder.stats;
  const fixed = type === BLOCK_SPB ? 12 : 28;
  if (off + fixed > bodyEnd) {
    stats.frames++;
    stats.truncated++;
    return undefined;
  }
  let ifaceId: number;
  let caplen: number;
  let timestampMs = 0;
  if (type === BLOCK_SPB) {
    ifaceId = 0;
    caplen = view.getUint32(off + 8, le);
    const iface = interfaces[0];
    if (iface && iface.snaplen > 0) caplen = Math.min(caplen, iface.snaplen);
  } else {
    ifaceId = type === BLOCK_EPB ? view.getUint32(off + 8, le) : view.getUint16(off + 8, le);
    caplen = view.getUint32(off + 20, le);
  }
  const iface = interfaces[ifaceId];
  if (!iface) {
    // A packet for an interface no IDB described: its link type is unknown.
    stats.frames++;
    stats.skipped++;
    return undefined;
  }
  if (type !== BLOCK_SPB) {
    timestampMs = ticksToMs(view.getUint32(off + 12, le), view.getUint32(off + 16, le), iface);
  }
  const start = off + fixed;
  return decoder.decode(
    iface.linktype,
    data.subarray(start, Math.min(start + caplen, bodyEnd)),
    timestampMs,
    frame,
  );
}

function ticksToMs(high: number, low: number, iface: Interface): number {
  const ticks = (BigInt(high) << 32n) | BigInt(low);
  return Number((ticks * 1000n) / iface.unitsPerSecond) + iface.offsetMs;
}

function hex32(value: number): string {
  return value.toString(16).padStart(8, '0');
}

// ---------------------------------------------------------------------------------------------
// Frames: link layer -> IPv4/IPv6 -> UDP
// ---------------------------------------------------------------------------------------------

const LINKTYPE_NULL = 0;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW_BSD = 12; // DLT_RAW as written by most BSDs
const LINKTYPE_RAW_OPENBSD = 14; // DLT_RAW on OpenBSD
const LINKTYPE_RAW = 101;
const LINKTYPE_LOOP = 108;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_IPV4 = 228;
const LINKTYPE_IPV6 = 229;
const LINKTYPE_LINUX_SLL2 = 276;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100; // 802.1Q C-tag
const ETHERTYPE_QINQ = 0x88a8; // 802.1ad S-tag
const ETHERTYPE_QINQ_OLD = 0x9100; // pre-standard stacked tag, still sent by some switches

const PROTO_HOPOPTS = 0;
const PROTO_UDP = 17;
const PROTO_ROUTING = 43;
const PROTO_FRAGMENT = 44;
const PROTO_AH = 51;
const PROTO_DSTOPTS = 60;

/** Where the IP header starts and which version the link layer announced (0: read the nibble). */
interface NetworkStart {
  off: number;
  ip: 0 | 4 | 6;
}

const TRUNCATED = 'truncated';
const OTHER = 'other';
type LinkResult = NetworkStart | typeof TRUNCATED | typeof OTHER;

/** Decodes frames to UDP datagrams, holding IP fragments across frames. */
class FrameDecoder {
  readonly stats: CaptureStats;
  readonly #reassembler: Reassembler;

  constructor(stats: CaptureStats) {
    this.stats = stats;
    this.#reassembler = new Reassembler(stats);
  }

  /** Counts the frame and returns its datagram, if it completes one. */
  decode(linktype: number, f: Uint8Array, timestampMs: number, frame: number): UdpDatagram | undefined {
    this.stats.frames++;
    const net = linkLayer(linktype, f);
    if (net === TRUNCATED) return this.#count('truncated');
    if (net === OTHER) return this.#count('skipped');
    if (net.off >= f.length) return this.#count('truncated');
    const version = f[net.off] >> 4;
    if (net.ip !== 0 && net.ip !== version) return this.#count('skipped');
    if (version === 4) return this.#ipv4(f, net.off, timestampMs, frame);
    if (version === 6) return this.#ipv6(f, net.off, timestampMs, frame);
    return this.#count('skipped');
  }

  /** Abandons the datagrams still waiting for fragments (end of file). */
  finish(): void {
    this.#reassembler.abandonAll();
  }

  #count(counter: 'skipped' | 'truncated'): undefined {
    this.stats[counter]++;
    return undefined;
  }

  //  RFC 791 §3.1
  //   0                   1                   2                   3
  //   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
  //  +-------+-------+---------------+-------------------------------+
  //  |Version|  IHL  |Type of Service|          Total Length         |
  //  +-------+-------+---------------+-----+-------------------------+
  //  |         Identification        |Flags|      Fragment Offset    |
  //  +---------------+---------------+-----+-------------------------+
  //  |  Time to Live |    Protocol   |         Header Checksum       |
  //  |                       Source Address                          |
  //  |                    Destination Address                        |
  //  |                    Options (IHL > 5)                          |
  //  +---------------------------------------------------------------+
  //  Flags: reserved, DF, MF. Offsets count 8-byte units.
  #ipv4(f: Uint8Array, off: number, timestampMs: number, frame: number): UdpDatagram | undefined {
    if (off + 20 > f.length) return this.#count('truncated');
    const ihl = (f[off] & 0x0f) * 4;
    if (ihl < 20) return this.#count('skipped');
    if (f[off + 9] !== PROTO_UDP) return this.#count('skipped');
    let total = u16(f, off + 2);
    // 0 is what a capture of a TSO/GSO send shows before segmentation: use what was captured.
    if (total === 0) total = f.length - off;
    if (total < ihl) return this.#count('skipped');
    // The total length also trims Ethernet padding and trailers (FCS) past the IP packet.
    if (off + total > f.length) return this.#count('truncated');
    const srcIp = formatIPv4(f, off + 12);
    const dstIp = formatIPv4(f, off + 16);
    let body = f.subarray(off + ihl, off + total);
    const flagsOffset = u16(f, off + 6);
    const more = (flagsOffset & 0x2000) !== 0;
    const fragmentOffset = (flagsOffset & 0x1fff) * 8;
    if (more || fragmentOffset !== 0) {
      this.stats.fragments++;
      const key = `4 ${srcIp} ${dstIp} ${PROTO_UDP} ${u16(f, off + 4)}`;
      const whole = this.#reassembler.add(key, fragmentOffset, body, more, PROTO_UDP);
      if (!whole) return undefined;
      body = whole.bytes;
    }
    return this.#udp(body, srcIp, dstIp, timestampMs, frame);
  }

  //  RFC 8200 §3 (fixed header), §4.3-4.5 (extension headers)
  //  +-------+---------------+---------------------------------------+
  //  |Version| Traffic Class |              Flow Label               |
  //  +-------+---------------+-------+---------------+---------------+
  //  |         Payload Length        |  Next Header  |   Hop Limit   |
  //  |                    Source Address (16 B)                      |
  //  |                 Destination Address (16 B)                    |
  //  +---------------------------------------------------------------+
  //  hop-by-hop (0), routing (43), destination options (60):
  //    next header u8, length u8 (8-byte units beyond the first 8), data
  //  authentication header (51): next header u8, length u8 (4-byte units minus 2), data
  //  fragment (44, 8 B): next header u8, reserved u8,
  //    offset (13 bits, 8-byte units) | res (2) | M (1), identification u32
  #ipv6(f: Uint8Array, off: number, timestampMs: number, frame: number): UdpDatagram | undefined {
    if (off + 40 > f.length) return this.#count('truncated');
    const payloadLength = u16(f, off + 4);
    // 0: a jumbogram (RFC 2675) or a TSO capture; either way the captured bytes are the packet.
    const declaredEnd = payloadLength === 0 ? f.length : off + 40 + payloadLength;
    const cut = declaredEnd > f.length;
    const end = Math.min(declaredEnd, f.length);
    const srcIp = formatIPv6(f, off + 8);
    const dstIp = formatIPv6(f, off + 24);
    let next = f[off + 6];
    let buf = f;
    let p = off + 40;
    let bufEnd = end;
    let reassembled = false;
    for (;;) {
      if (next === PROTO_UDP) {
        if (cut && !reassembled) return this.#count('truncated');
        return this.#udp(buf.subarray(p, bufEnd), srcIp, dstIp, timestampMs, frame);
      }
      if (next === PROTO_HOPOPTS || next === PROTO_ROUTING || next === PROTO_DSTOPTS || next === PROTO_AH) {
        if (p + 2 > bufEnd) return this.#count(cut ? 'truncated' : 'skipped');
        const length = next === PROTO_AH ? (buf[p + 1] + 2) * 4 : (buf[p + 1] + 1) * 8;
        if (p + length > bufEnd) return this.#count(cut ? 'truncated' : 'skipped');
        next = buf[p];
        p += length;
        continue;
      }
      if (next === PROTO_FRAGMENT && !reassembled) {
        if (p + 8 > bufEnd) return this.#count(cut ? 'truncated' : 'skipped');
        const fragmentNext = buf[p];
        const offsetFlags = u16(buf, p + 2);
        const fragmentOffset = offsetFlags & 0xfff8;
        const more = (offsetFlags & 1) !== 0;
        p += 8;
        // An atomic fragment (RFC 6946) is a whole packet with an extra header.
        if (fragmentOffset === 0 && !more) {
          next = fragmentNext;
          continue;
        }
        // Only UDP, or headers that may precede it in the fragmentable part, are worth holding.
        if (fragmentNext !== PROTO_UDP && fragmentNext !== PROTO_DSTOPTS && fragmentNext !== PROTO_AH) {
          return this.#count('skipped');
        }
        if (cut) return this.#count('truncated');
        this.stats.fragments++;
        const key = `6 ${srcIp} ${dstIp} ${u32(buf, p - 4)}`;
        const whole = this.#reassembler.add(key, fragmentOffset, buf.subarray(p, bufEnd), more, fragmentNext);
        if (!whole) return undefined;
        buf = whole.bytes;
        next = whole.nextHeader;
        p = 0;
        bufEnd = buf.length;
        reassembled = true;
        continue;
      }
      return this.#count('skipped');
    }
  }

  //  RFC 768: source port u16, destination port u16, length u16 (header included), checksum u16
  #udp(
    body: Uint8Array,
    srcIp: string,
    dstIp: string,
    timestampMs: number,
    frame: number,
  ): UdpDatagram | undefined {
    if (body.length < 8) return this.#count('skipped');
    let length = u16(body, 4);
    if (length === 0) length = body.length; // IPv6 jumbogram (RFC 2675 §4)
    if (length < 8 || length > body.length) return this.#count('skipped');
    this.stats.udp++;
    return {
      payload: body.subarray(8, length),
      srcIp,
      srcPort: u16(body, 0),
      dstIp,
      dstPort: u16(body, 2),
      timestampMs,
      frame,
    };
  }
}

/**
 * Finds the network layer in a frame.
 *
 *   Ethernet (1)            dst 6 | src 6 | [TPID 0x8100/0x88a8/0x9100 u16 | TCI u16]... | type u16
 *   Linux SLL (113, 16 B)   packet type u16 | ARPHRD u16 | addr len u16 | addr 8 | protocol u16
 *   Linux SLL2 (276, 20 B)  protocol u16 | reserved u16 | ifindex u32 | ARPHRD u16 |
 *                           packet type u8 | addr len u8 | addr 8
 *   NULL (0, 4 B)           address family u32 in the capturing host's byte order
 *   LOOP (108, 4 B)         address family u32 in network byte order
 *   raw (101, 12, 14)       IP header (version from its first nibble); 228 IPv4, 229 IPv6
 */
function linkLayer(linktype: number, f: Uint8Array): LinkResult {
  switch (linktype) {
    case LINKTYPE_ETHERNET:
      return f.length < 14 ? TRUNCATED : etherType(f, u16(f, 12), 14);
    case LINKTYPE_LINUX_SLL:
      return f.length < 16 ? TRUNCATED : etherType(f, u16(f, 14), 16);
    case LINKTYPE_LINUX_SLL2:
      return f.length < 20 ? TRUNCATED : etherType(f, u16(f, 0), 20);
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP: {
      if (f.length < 4) return TRUNCATED;
      let family = u32(f, 0);
      // NULL is in the writer's byte order, which the file does not record; families fit in 16
      // bits, so a value with high bits set was written little-endian (tcpdump does the same).
      if (linktype === LINKTYPE_NULL && (family & 0xffff0000) !== 0) family = byteSwap32(family);
      if (family === 2) return { off: 4, ip: 4 };
      // AF_INET6 differs per OS: 24 NetBSD/OpenBSD, 28 FreeBSD, 30 macOS, 10 Linux, 23 Windows.
      if (family === 24 || family === 28 || family === 30 || family === 10 || family === 23) {
        return { off: 4, ip: 6 };
      }
      return OTHER;
    }
    case LINKTYPE_RAW:
    case LINKTYPE_RAW_BSD:
    case LINKTYPE_RAW_OPENBSD:
      return { off: 0, ip: 0 };
    case LINKTYPE_IPV4:
      return { off: 0, ip: 4 };
    case LINKTYPE_IPV6:
      return { off: 0, ip: 6 };
    default:
      return OTHER;
  }
}

/** Walks stacked VLAN tags (IEEE 802.1Q §9.6, 802.1ad) from an ethertype at `off - 2`. */
function etherType(f: Uint8Array, type: number, off: number): LinkResult {
  let t = type;
  let p = off;
  while (t === ETHERTYPE_VLAN || t === ETHERTYPE_QINQ || t === ETHERTYPE_QINQ_OLD) {
    if (p + 4 > f.length) return TRUNCATED;
    t = u16(f, p + 2);
    p += 4;
  }
  if (t === ETHERTYPE_IPV4) return { off: p, ip: 4 };
  if (t === ETHERTYPE_IPV6) return { off: p, ip: 6 };
  return OTHER;
}

// ---------------------------------------------------------------------------------------------
// Fragment reassembly (RFC 791 §3.2, RFC 8200 §4.5), bounded for untrusted files
// ---------------------------------------------------------------------------------------------

interface Piece {
  offset: number;
  bytes: Uint8Array;
}

interface Pending {
  pieces: Piece[];
  stored: number;
  /** End of the furthest fragment so far. */
  maxEnd: number;
  /** Length of the whole datagram, known once the last fragment (M = 0) arrived; -1 before. */
  total: number;
  /** Protocol after the fragment header, from the first fragment; -1 until it arrived. */
  nextHeader: number;
}

class Reassembler {
  readonly #stats: CaptureStats;
  /** Insertion order = age, so the first key is the one to abandon. */
  readonly #pending = new Map<string, Pending>();

  constructor(stats: CaptureStats) {
    this.#stats = stats;
  }

  /** Adds one fragment; returns the whole payload when this fragment completes it. */
  add(
    key: string,
    offset: number,
    bytes: Uint8Array,
    more: boolean,
    nextHeader: number,
  ): { bytes: Uint8Array; nextHeader: number } | undefined {
    let pending = this.#pending.get(key);
    if (!pending) {
      if (this.#pending.size >= MAX_PENDING_FRAGMENTED) {
        const oldest = this.#pending.keys().next().value;
        if (oldest !== undefined) this.#abandon(oldest);
      }
      pending = { pieces: [], stored: 0, maxEnd: 0, total: -1, nextHeader: -1 };
      this.#pending.set(key, pending);
    }
    const end = offset + bytes.length;
    if (end > MAX_REASSEMBLED_BYTES || pending.stored + bytes.length > MAX_REASSEMBLED_BYTES) {
      this.#abandon(key);
      return undefined;
    }
    if (!more) {
      // Two different "last" fragments, or data past the end: not one datagram.
      if ((pending.total !== -1 && pending.total !== end) || pending.maxEnd > end) return this.#abandon(key);
      pending.total = end;
    }
    if (pending.total !== -1 && end > pending.total) return this.#abandon(key);
    pending.pieces.push({ offset, bytes });
    pending.stored += bytes.length;
    pending.maxEnd = Math.max(pending.maxEnd, end);
    if (offset === 0) pending.nextHeader = nextHeader;
    if (pending.total === -1 || pending.nextHeader === -1) return undefined;

    const pieces = pending.pieces.toSorted((a, b) => a.offset - b.offset);
    let covered = 0;
    for (const piece of pieces) {
      if (piece.offset > covered) return undefined;
      covered = Math.max(covered, piece.offset + piece.bytes.length);
    }
    if (covered < pending.total) return undefined;
    this.#pending.delete(key);
    const whole = new Uint8Array(pending.total);
    for (const piece of pieces) whole.set(piece.bytes, piece.offset);
    return { bytes: whole, nextHeader: pending.nextHeader };
  }

  abandonAll(): void {
    this.#stats.fragmentsDropped += this.#pending.size;
    this.#pending.clear();
  }

  #abandon(key: string): undefined {
    this.#pending.delete(key);
    this.#stats.fragmentsDropped++;
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Bytes and addresses
// ---------------------------------------------------------------------------------------------

function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

function byteSwap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}
