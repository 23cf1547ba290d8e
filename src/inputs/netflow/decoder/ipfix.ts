/**
 * IPFIX (RFC 7011), with the parsing rules Filebeat applies (NETFLOW.md 1.5).
 *
 * Message header (§3.1):
 * +-------------------------------+-------------------------------+
 * |        version (= 10)         |   length (message, bytes)     |
 * |                      export_time (UNIX seconds)               |
 * |                      sequence_number (data records sent)      |
 * |                      observation_domain_id                    |
 * +-------------------------------+-------------------------------+
 * Set header (§3.3.2):   set_id (2 template, 3 options template, >=256 data) | length
 * Template record:       template_id (>=256) | field_count | specifiers...
 * Options template:      template_id | field_count | scope_field_count (>=1) | specifiers...
 * Field specifier (§3.2):
 * |E|  information element id (15) |        field length           |
 * |        enterprise number (only when E = 1)                    |
 * Withdrawal (§8.1): a template record with field_count 0 (4 bytes, also for options templates);
 * template id 2 (3) with field_count 0 withdraws all data (options) templates.
 */
import { DecodeError } from '../../../util/errors.ts';
import type { ExporterAddress } from './legacy.ts';
import {
  type PacketOutcome,
  PacketSession,
  sessionKey,
  type TemplateChange,
  type TemplateProtocolContext,
} from './sets.ts';
import { compileTemplate, type FieldSpec } from './template.ts';
import type { DecodedRecord, ExporterMeta } from './types.ts';

const HEADER_LENGTH = 16;
const TEMPLATE_SET = 2;
const OPTIONS_TEMPLATE_SET = 3;

/** Reads `count` specifiers from `off`; returns them and the offset after, or undefined past `end`. */
function readSpecs(buf: Buffer, off: number, end: number, count: number): [FieldSpec[], number] | undefined {
  const specs: FieldSpec[] = new Array(count);
  let p = off;
  for (let i = 0; i < count; i++) {
    if (end - p < 4) return undefined;
    const raw = buf.readUInt16BE(p);
    const length = buf.readUInt16BE(p + 2);
    p += 4;
    let pen = 0;
    if (raw & 0x8000) {
      if (end - p < 4) return undefined;
      pen = buf.readUInt32BE(p);
      p += 4;
    }
    specs[i] = { pen, id: raw & 0x7fff, length };
  }
  return [specs, p];
}

/**
 * The withdrawal a record makes when flowship honours them (extended mode, R5), or undefined when
 * the record is none.
 */
function withdrawal(ctx: TemplateProtocolContext, setId: number, id: number): TemplateChange | undefined {
  if (ctx.compatibility === 'filebeat') return undefined;
  if (id === setId) return { kind: 'withdrawAll', options: setId === OPTIONS_TEMPLATE_SET };
  if (id >= 256) return { kind: 'withdraw', id };
  return undefined;
}

function readTemplateSet(
  ctx: TemplateProtocolContext,
  session: PacketSession,
  buf: Buffer,
  start: number,
  end: number,
) {
  const changes: TemplateChange[] = [];
  let off = start;
  const extended = ctx.compatibility === 'extended';
  // Filebeat reads template records while 8 bytes remain; a 4-byte withdrawal record is a whole
  // record in RFC 7011, so extended mode reads down to 4
  while (end - off >= (extended ? 4 : 8)) {
    const id = buf.readUInt16BE(off);
    const count = buf.readUInt16BE(off + 2);
    off += 4;
    const withdraw = count === 0 ? withdrawal(ctx, TEMPLATE_SET, id) : undefined;
    if (withdraw !== undefined) {
      changes.push(withdraw);
      continue;
    }
    // anything else in the last 4-7 bytes is padding, as for Filebeat, whatever its bytes
    if (end - off < 4) break;
    if (id === 0 && count === 0 && extended) break; // zero padding at the end of the set
    if (id < 256) throw new DecodeError('bad_template', `template id ${id} is below 256`);
    if (count === 0) continue;
    if (end - off < 2 * count) {
      throw new DecodeError('bad_template', `template ${id} announces ${count} fields, the set ends first`, {
        templateId: id,
      });
    }
    const read = readSpecs(buf, off, end, count);
    if (read === undefined) break; // runs past the set end: dropped silently, as Filebeat does
    const template = compileTemplate(ctx.dictionary, id, read[0], 0, false, false, session.known(id));
    changes.push({ kind: 'learn', template });
    off = read[1];
  }
  session.apply(changes);
}

function readOptionsTemplateSet(
  ctx: TemplateProtocolContext,
  session: PacketSession,
  buf: Buffer,
  start: number,
  end: number,
) {
  const changes: TemplateChange[] = [];
  let off = start;
  const extended = ctx.compatibility === 'extended';
  while (end - off >= (extended ? 4 : 6)) {
    const id = buf.readUInt16BE(off);
    const total = buf.readUInt16BE(off + 2);
    const withdraw = total === 0 ? withdrawal(ctx, OPTIONS_TEMPLATE_SET, id) : undefined;
    if (withdraw !== undefined) {
      changes.push(withdraw);
      off += 4;
      continue;
    }
    if (extended && id === 0 && total === 0) break; // zero padding
    if (end - off < 6) break;
    const scope = buf.readUInt16BE(off + 4);
    off += 6;
    if (id < 256) throw new DecodeError('bad_options_template', `options template id ${id} is below 256`);
    if (scope === 0 || scope > total) {
      throw new DecodeError(
        'bad_options_template',
        `options template ${id} has ${scope} scope fields of ${total} fields`,
      );
    }
    const read = readSpecs(buf, off, end, total);
    if (read === undefined) {
      throw new DecodeError('bad_options_template', `options template ${id} runs past the end of its set`, {
        templateId: id,
      });
    }
    const template = compileTemplate(ctx.dictionary, id, read[0], scope, true, false, session.known(id));
    changes.push({ kind: 'learn', template });
    off = read[1];
  }
  session.apply(changes);
}

/** Decodes one IPFIX message into `out`; its `consumed` is the message length from the header. */
export function decodeIpfix(
  ctx: TemplateProtocolContext,
  buf: Buffer,
  from: ExporterAddress,
  out: DecodedRecord[],
): PacketOutcome {
  if (buf.length < HEADER_LENGTH) {
    throw new DecodeError('short_header', `IPFIX header needs ${HEADER_LENGTH} bytes, got ${buf.length}`);
  }
  const length = buf.readUInt16BE(2);
  if (length < HEADER_LENGTH || length > buf.length) {
    throw new DecodeError(
      'bad_length',
      `IPFIX message length ${length} does not fit a ${buf.length}-byte datagram`,
    );
  }
  const sequence = buf.readUInt32BE(8);
  const domain = buf.readUInt32BE(12);
  const exporter: ExporterMeta = {
    version: 10,
    timestamp: new Date(buf.readUInt32BE(4) * 1000),
    uptimeMillis: 0,
    address: from.address,
    ip: from.ip,
    sourceId: domain,
    sequence,
  };
  const session = new PacketSession(ctx, sessionKey(ctx, from.address, domain), sequence, exporter, out);

  let off = HEADER_LENGTH;
  try {
    while (length - off >= 4) {
      const setId = buf.readUInt16BE(off);
      const setLength = buf.readUInt16BE(off + 2);
      if (setId === 0 && setLength === 0) break; // padding
      const bodyLength = setLength < 4 ? 0 : setLength - 4;
      if (length - off - 4 < bodyLength) break;
      const start = off + 4;
      const end = start + bodyLength;
      off = end;
      if (setId >= 256) {
        session.data(setId, buf, start, end);
      } else if (setId === TEMPLATE_SET) {
        readTemplateSet(ctx, session, buf, start, end);
      } else if (setId === OPTIONS_TEMPLATE_SET) {
        readOptionsTemplateSet(ctx, session, buf, start, end);
      } else {
        throw new DecodeError('bad_set_id', `set id ${setId} is reserved`);
      }
    }
  } catch (err) {
    throw session.failed(err);
  }
  session.finish();
  return { consumed: length, exporter, pended: session.pended };
}
