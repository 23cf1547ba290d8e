/**
 * UDP sockets for the netflow input: binds IPv4 and/or IPv6 listeners and hands each datagram,
 * with its normalised exporter address, to a callback. Thin shell: no decoding here.
 */
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { formatExporterAddress, normalizeRemoteAddress } from '../../ecs/ip.ts';
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
}

/** Addresses to bind for `host`: `localhost` gives both loopbacks, names resolve to all addresses. */
async function bindAddresses(host: string, network: UdpNetwork): Promise<string[]> {
  let addresses: string[];
  if (isIP(host) !== 0) addresses = [host];
  else if (host === 'localhost') addresses = ['127.0.0.1', '::1'];
  else if (host === '') addresses = ['0.0.0.0'];
  else addresses = (await lookup(host, { all: true })).map((r) => r.address);
  return addresses.filter((a) => {
    const v = isIP(a);
    return network === 'udp' || (network === 'udp4' ? v === 4 : v === 6);
  });
}

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

export class UdpReceiver {
  private readonly options: ReceiverOptions;
  private readonly sockets: dgram.Socket[] = [];
  private closing: Promise<void> | undefined;
  /** Cache of exporter addresses: one allocation per exporter, not per datagram. */
  private readonly exporters = new Map<string, ExporterAddress>();
  private static readonly MAX_CACHED_EXPORTERS = 4096;

  constructor(options: ReceiverOptions) {
    this.options = options;
  }

  async start(): Promise<BoundAddress[]> {
    const { host, port, network } = this.options;
    const addresses = await bindAddresses(host, network);
    if (addresses.length === 0) {
      throw new FlowshipError('FLOWSHIP_CONFIG', `host '${host}' has no ${network} address to listen on`);
    }
    const bound: BoundAddress[] = [];
    for (const address of addresses) {
      const v6 = isIP(address) === 6;
      // `::` alone receives IPv4 too (dual stack) unless udp6 was asked for
      const socket = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6 && network === 'udp6' });
      try {
        await bindOne(socket, address, port);
      } catch (err) {
        socket.close();
        // `localhost` on a host without IPv6 loopback: keep the IPv4 listener
        if (host === 'localhost' && v6 && bound.length > 0) continue;
        await this.stop();
        throw new FlowshipError(
          'FLOWSHIP_CONFIG',
          `cannot listen on udp ${address}:${port}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      if (this.options.readBuffer !== undefined) socket.setRecvBufferSize(this.options.readBuffer);
      socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
      socket.on('error', (err) => this.options.onError?.(err));
      this.sockets.push(socket);
      const a = socket.address();
      bound.push({ address: a.address, family: a.family as 'IPv4' | 'IPv6', port: a.port });
    }
    return bound;
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

  stop(): Promise<void> {
    this.closing ??= Promise.all(
      this.sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    ).then(() => undefined);
    return this.closing;
  }
}
