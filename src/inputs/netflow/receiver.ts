/**
 * UDP sockets for the netflow input: binds IPv4 and/or IPv6 listeners and hands each datagram,
 * with its normalised exporter address, to a callback. Thin shell: no decoding here.
 */
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { formatExporterAddress, normalizeRemoteAddress, parseIp } from '../../ecs/ip.ts';
import { FlowshipError } from '../../util/errors.ts';
import type { ExporterAddress } from './decoder/legacy.ts';

export type UdpNetwork = 'udp' | 'udp4' | 'udp6';

export interface ReceiverOptions {
  readonly host: string;
  readonly port: number;
  readonly network: UdpNetwork;
  /** SO_RCVBUF in bytes; undefined keeps the OS default. */
  readonly readBuffer?: number;
  /** Longer datagrams are cut to this size (as Filebeat's fixed read buffer does) and counted. */
  readonly maxMessageSize: number;
  readonly onDatagram: (payload: Buffer, from: ExporterAddress) => void;
  readonly onTruncated?: () => void;
  readonly onError?: (err: Error) => void;
}

export interface BoundAddress {
  readonly address: string;
  readonly family: 'IPv4' | 'IPv6';
  readonly port: number;
  /** `::` receiving IPv4 too (as `::ffff:a.b.c.d`). */
  readonly dualStack: boolean;
  /**
   * When `readBuffer` was set: what was asked for and what the kernel granted, in usable bytes
   * (Linux reports twice the usable size, its bookkeeping included; halved here). The grant is
   * capped by `net.core.rmem_max`.
   */
  readonly readBuffer?: { readonly requested: number; readonly granted: number };
}

/** One socket to open. */
interface Listener {
  readonly address: string;
  readonly type: 'udp4' | 'udp6';
  readonly ipv6Only: boolean;
  /** Bind `0.0.0.0` instead when the host has no IPv6 (EAFNOSUPPORT, EADDRNOTAVAIL). */
  readonly fallbackToIpv4: boolean;
}

/**
 * Which family a wildcard host (every address of the machine) names, or undefined for another
 * host. `''` is what Go's `":2055"` leaves; `::0` and `0:0:0:0:0:0:0:0` are `::` too.
 */
function wildcard(host: string): 'any' | 'IPv4' | 'IPv6' | undefined {
  if (host === '') return 'any';
  if (isIP(host) === 0) return undefined;
  const bytes = parseIp(host);
  if (bytes === undefined || bytes.some((b) => b !== 0)) return undefined;
  return bytes.length === 4 ? 'IPv4' : 'IPv6';
}

/**
 * Sockets to open for `host`: `localhost` gives both loopbacks, names resolve to all addresses.
 * A wildcard with `network: udp` listens as Go does: one dual-stack `::` socket (IPv4 arrives as
 * `::ffff:a.b.c.d`), or `0.0.0.0` on a host without IPv6. `udp4` and `udp6` keep to their family.
 */
async function listeners(host: string, network: UdpNetwork): Promise<Listener[]> {
  const any = wildcard(host);
  if (any !== undefined) {
    if (network === 'udp') return [{ address: '::', type: 'udp6', ipv6Only: false, fallbackToIpv4: true }];
    if (network === 'udp4') {
      return any === 'IPv6'
        ? []
        : [{ address: '0.0.0.0', type: 'udp4', ipv6Only: false, fallbackToIpv4: false }];
    }
    return any === 'IPv4' ? [] : [{ address: '::', type: 'udp6', ipv6Only: true, fallbackToIpv4: false }];
  }
  let addresses: string[];
  if (isIP(host) !== 0) addresses = [host];
  else if (host === 'localhost') addresses = ['127.0.0.1', '::1'];
  else {
    try {
      addresses = (await lookup(host, { all: true })).map((r) => r.address);
    } catch (err) {
      throw new FlowshipError(
        'FLOWSHIP_CONFIG',
        `host '${host}' cannot be resolved: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }
  return addresses
    .filter((a) => {
      const v = isIP(a);
      return network === 'udp' || (network === 'udp4' ? v === 4 : v === 6);
    })
    .map((address) => {
      const v6 = isIP(address) === 6;
      return {
        address,
        type: v6 ? 'udp6' : 'udp4',
        ipv6Only: v6 && network === 'udp6',
        fallbackToIpv4: false,
      };
    });
}

/** Bind errors that mean "this host has no IPv6". */
const NO_IPV6 = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL', 'EPROTONOSUPPORT']);

function bindOne(socket: dgram.Socket, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    socket.once('error', onError);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

/** Closes a socket that may already be closed. */
function closeSocket(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // ERR_SOCKET_DGRAM_NOT_RUNNING: closed already
    }
  });
}

/** The usable receive buffer: Linux reports SO_RCVBUF doubled (socket(7)). */
function usableRecvBuffer(socket: dgram.Socket): number {
  const reported = socket.getRecvBufferSize();
  return process.platform === 'linux' ? Math.floor(reported / 2) : reported;
}

export class UdpReceiver {
  private readonly options: ReceiverOptions;
  private readonly sockets: dgram.Socket[] = [];
  private starting: Promise<BoundAddress[]> | undefined;
  private stopped = false;
  private closing: Promise<void> | undefined;
  /** Cache of exporter addresses: one allocation per exporter, not per datagram. */
  private readonly exporters = new Map<string, ExporterAddress>();
  private static readonly MAX_CACHED_EXPORTERS = 4096;

  constructor(options: ReceiverOptions) {
    this.options = options;
  }

  /**
   * Opens the sockets; resolves with where they listen. Idempotent (same promise). Rejects with a
   * `FlowshipError` when a socket cannot be opened (the others are closed again), or when `stop()`
   * was called meanwhile (what was bound is closed).
   */
  start(): Promise<BoundAddress[]> {
    this.starting ??= this.bindAll().catch(async (err: unknown) => {
      await Promise.all(this.sockets.splice(0).map(closeSocket));
      throw err;
    });
    return this.starting;
  }

  private async bindAll(): Promise<BoundAddress[]> {
    const { host, port, network, readBuffer } = this.options;
    this.throwIfStopped();
    const wanted = await listeners(host, network);
    this.throwIfStopped();
    if (wanted.length === 0) {
      throw new FlowshipError('FLOWSHIP_CONFIG', `host '${host}' has no ${network} address to listen on`);
    }
    const bound: BoundAddress[] = [];
    for (const listener of wanted) {
      let { address, type } = listener;
      let socket = dgram.createSocket({ type, ipv6Only: listener.ipv6Only });
      try {
        try {
          await bindOne(socket, address, port);
        } catch (err) {
          if (!listener.fallbackToIpv4 || !NO_IPV6.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
          await closeSocket(socket);
          this.throwIfStopped();
          address = '0.0.0.0';
          type = 'udp4';
          socket = dgram.createSocket({ type });
          await bindOne(socket, address, port);
        }
      } catch (err) {
        await closeSocket(socket);
        // `localhost` on a host without IPv6 loopback: keep the IPv4 listener
        if (host === 'localhost' && type === 'udp6' && bound.length > 0) continue;
        throw new FlowshipError(
          'FLOWSHIP_CONFIG',
          `cannot listen on ${type} ${address}:${port}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      // From here the socket is ours to close, whatever happens next.
      this.sockets.push(socket);
      this.throwIfStopped();
      let buffer: BoundAddress['readBuffer'];
      if (readBuffer !== undefined) {
        try {
          socket.setRecvBufferSize(readBuffer);
        } catch (err) {
          throw new FlowshipError(
            'FLOWSHIP_CONFIG',
            `read_buffer ${readBuffer} cannot be set on udp ${address}:${port}: ${(err as Error).message}`,
            { cause: err },
          );
        }
        buffer = { requested: readBuffer, granted: usableRecvBuffer(socket) };
      }
      socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
      socket.on('error', (err) => this.options.onError?.(err));
      const a = socket.address();
      bound.push({
        address: a.address,
        family: a.family as 'IPv4' | 'IPv6',
        port: a.port,
        dualStack: type === 'udp6' && !listener.ipv6Only && a.address === '::',
        ...(buffer === undefined ? {} : { readBuffer: buffer }),
      });
    }
    return bound;
  }

  private throwIfStopped(): void {
    if (this.stopped) {
      throw new FlowshipError('FLOWSHIP_CONFIG', 'the UDP receiver was stopped while it was starting');
    }
  }

  get socketCount(): number {
    return this.sockets.length;
  }

  /** Bytes the kernel holds for us per socket (SO_RCVBUF as granted). */
  recvBufferSizes(): number[] {
    return this.sockets.map((s) => s.getRecvBufferSize());
  }

  private exporter(address: string, port: number): ExporterAddress {
    const key = `${address}|${port}`;
    let e = this.exporters.get(key);
    if (e === undefined) {
      const ip = normalizeRemoteAddress(address);
      e = { ip, address: formatExporterAddress(ip, port) };
      if (this.exporters.size >= UdpReceiver.MAX_CACHED_EXPORTERS) this.exporters.clear();
      this.exporters.set(key, e);
    }
    return e;
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    let payload = msg;
    if (payload.length > this.options.maxMessageSize) {
      payload = payload.subarray(0, this.options.maxMessageSize);
      this.options.onTruncated?.();
    }
    this.options.onDatagram(payload, this.exporter(rinfo.address, rinfo.port));
  }

  /**
   * Closes the sockets. Idempotent (same promise). A `start()` in progress notices the stop after
   * its current step (a bind or a name lookup), closes what it bound and rejects; `stop()` resolves
   * once that is done, so no socket outlives it.
   */
  stop(): Promise<void> {
    this.closing ??= (async () => {
      this.stopped = true;
      await Promise.all(this.sockets.splice(0).map(closeSocket));
      await this.starting?.catch(() => {});
    })();
    return this.closing;
  }
}
