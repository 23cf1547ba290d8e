/**
 * What NetFlow v9 and IPFIX share: the state a packet is decoded against, and data sets.
 */
import type { Compatibility, Dictionary } from '../fields/types.ts';
import type { DecoderStats, Session, SessionTable } from './session.ts';
import { applyTemplate } from './template.ts';
import type { DecodedRecord, ExporterMeta } from './types.ts';

export interface TemplateProtocolContext {
  readonly dictionary: Dictionary;
  readonly sessions: SessionTable;
  readonly stats: DecoderStats;
  readonly compatibility: Compatibility;
  /** Key sessions by source id alone (Filebeat `share_templates`). */
  readonly shareTemplates: boolean;
  /** Drop a session's templates on a sequence jump >= 1000 (Filebeat `detect_sequence_reset`). */
  readonly detectSequenceReset: boolean;
}

export function sessionKey(ctx: TemplateProtocolContext, address: string, sourceId: number): string {
  return ctx.shareTemplates ? String(sourceId) : `${address}/${sourceId}`;
}

/**
 * A change a template set makes to its session. Sets are parsed whole before their changes apply:
 * a decode error in a set loses the changes before it in that set too (Filebeat learns a set's
 * templates only once the set parsed), while those of earlier sets stay.
 */
export type TemplateChange = (session: Session) => void;

/**
 * The session of one packet. An existing session is touched (and its sequence checked) at once; a
 * new one is created only when the packet teaches it a template, so a stream of data-only packets
 * from ever-changing ports (or spoofed sources) cannot fill the session table.
 */
export class PacketSession {
  session: Session | undefined;
  private readonly ctx: TemplateProtocolContext;
  private readonly key: string;
  private readonly sequence: number;

  constructor(ctx: TemplateProtocolContext, key: string, sequence: number) {
    this.ctx = ctx;
    this.key = key;
    this.sequence = sequence;
    this.session = ctx.sessions.get(key);
    if (this.session !== undefined && ctx.detectSequenceReset) this.session.checkSequence(sequence);
  }

  /** Applies a parsed set's changes; the session is created only if there is something to apply. */
  apply(changes: readonly TemplateChange[]): void {
    if (changes.length === 0) return;
    this.session ??= this.ctx.sessions.create(this.key, this.sequence);
    for (const change of changes) change(this.session);
  }
}

/**
 * Decodes a data set (id >= 256) with the session's template. A set whose template is unknown is
 * skipped and counted: that is no error (NETFLOW.md 1.6).
 */
export function decodeDataSet(
  ctx: TemplateProtocolContext,
  session: Session | undefined,
  setId: number,
  buf: Buffer,
  start: number,
  end: number,
  exporter: ExporterMeta,
  out: DecodedRecord[],
): void {
  const template = session?.getTemplate(setId);
  if (template === undefined) {
    ctx.stats.dataSetsWithoutTemplate++;
    return;
  }
  applyTemplate(template, buf, start, end, exporter, out);
}
