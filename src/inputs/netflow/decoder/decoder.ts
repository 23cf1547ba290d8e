/**
 * The NetFlow/IPFIX decoder: one export packet in, records out (NETFLOW.md 1-2).
 *
 * Pure state machine: no sockets, no timers. Time comes from an injected clock and is only used
 * to run the template expiry sweep once per `expirationTimeoutMs`. One instance owns the template
 * state of the exporters it is given; callers keep an exporter's packets on one instance, in order.
 */
import { DecodeError } from '../../../util/errors.ts';
import type { Compatibility, Dictionary } from '../fields/types.ts';
import { decodeIpfix } from './ipfix.ts';
import { decodeLegacy, type ExporterAddress, LegacyLayouts } from './legacy.ts';
import {
  DEFAULT_SESSION_LIMITS,
  type DecoderStats,
  newDecoderStats,
  type SessionLimits,
  SessionTable,
} from './session.ts';
import type { TemplateProtocolContext } from './sets.ts';
import type { DecodedRecord } from './types.ts';
import { decodeV9 } from './v9.ts';

export type Protocol = 'v1' | 'v5' | 'v6' | 'v7' | 'v8' | 'v9' | 'ipfix';
export const ALL_PROTOCOLS: readonly Protocol[] = ['v1', 'v5', 'v6', 'v7', 'v8', 'v9', 'ipfix'];

const VERSION_PROTOCOL: Readonly<Record<number, Protocol>> = {
  1: 'v1',
  5: 'v5',
  6: 'v6',
  7: 'v7',
  8: 'v8',
  9: 'v9',
  10: 'ipfix',
};

export interface DecoderOptions {
  readonly dictionary: Dictionary;
  readonly compatibility?: Compatibility;
  /** Versions accepted; others are decode errors. Default: all seven. */
  readonly protocols?: readonly Protocol[];
  readonly shareTemplates?: boolean;
  readonly detectSequenceReset?: boolean;
  /** Idle template/session lifetime (ms); 0 = never expire. Default 30 min. */
  readonly expirationTimeoutMs?: number;
  readonly limits?: SessionLimits;
  /** Milliseconds clock; injected by tests. */
  readonly now?: () => number;
}

export interface DecodeResult {
  readonly records: DecodedRecord[];
  /** Bytes of the datagram the packet occupied (v9: where flowset parsing stopped). */
  readonly consumed: number;
}

export class NetflowDecoder {
  readonly stats: DecoderStats = newDecoderStats();
  private readonly layouts: LegacyLayouts;
  private readonly accepted: ReadonlySet<number>;
  private readonly v9: TemplateProtocolContext;
  private readonly ipfix: TemplateProtocolContext;
  private readonly expirationTimeoutMs: number;
  private readonly now: () => number;
  private lastSweep: number;

  constructor(options: DecoderOptions) {
    const {
      dictionary,
      compatibility = 'extended',
      protocols = ALL_PROTOCOLS,
      shareTemplates = false,
      detectSequenceReset = true,
      expirationTimeoutMs = 30 * 60_000,
      limits = DEFAULT_SESSION_LIMITS,
      now = Date.now,
    } = options;
    this.layouts = new LegacyLayouts(dictionary);
    const wanted = new Set(protocols);
    this.accepted = new Set(
      Object.entries(VERSION_PROTOCOL)
        .filter(([, p]) => wanted.has(p))
        .map(([v]) => Number(v)),
    );
    const base = { dictionary, stats: this.stats, compatibility, shareTemplates, detectSequenceReset };
    this.v9 = { ...base, sessions: new SessionTable(limits, this.stats) };
    this.ipfix = { ...base, sessions: new SessionTable(limits, this.stats) };
    this.expirationTimeoutMs = expirationTimeoutMs;
    this.now = now;
    this.lastSweep = now();
  }

  /**
   * Decodes one export packet. Throws DecodeError when the packet is malformed; then none of its
   * records are returned (templates it taught before the failing set are kept, as in Filebeat).
   */
  decode(packet: Buffer, from: ExporterAddress): DecodeResult {
    this.maybeSweep();
    if (packet.length < 2) {
      throw new DecodeError('short_header', `datagram of ${packet.length} bytes has no version`);
    }
    const version = packet.readUInt16BE(0);
    if (!this.accepted.has(version)) {
      throw VERSION_PROTOCOL[version] === undefined
        ? new DecodeError('unsupported_version', `NetFlow version ${version} is not supported`)
        : new DecodeError('disabled_version', `NetFlow version ${version} is not in protocols`);
    }
    const records: DecodedRecord[] = [];
    let consumed: number;
    if (version === 9) consumed = decodeV9(this.v9, packet, from, records);
    else if (version === 10) consumed = decodeIpfix(this.ipfix, packet, from, records);
    else consumed = decodeLegacy(this.layouts, packet, from, records);
    return { records, consumed };
  }

  /** Runs the expiry sweep if a period has passed (also callable from a timer). */
  maybeSweep(): void {
    if (this.expirationTimeoutMs <= 0) return;
    const now = this.now();
    if (now - this.lastSweep < this.expirationTimeoutMs) return;
    this.lastSweep = now;
    this.v9.sessions.sweep();
    this.ipfix.sessions.sweep();
  }

  get sessionCount(): number {
    return this.v9.sessions.size + this.ipfix.sessions.size;
  }

  get templateCount(): number {
    return this.v9.sessions.templateCount() + this.ipfix.sessions.templateCount();
  }
}
