/**
 * NetFlow v9 (RFC 3954), with the parsing rules Filebeat applies (NETFLOW.md 1.4).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-------------------------------+-------------------------------+
 * |        version (= 9)          |   count                       |
 * |                      sys_uptime (ms)                          |
 * |                      unix_secs                                |
 * |                      package_sequence                         |
 * |                      source_id                                |
 * +-------------------------------+-------------------------------+
 * |  flowset_id (0 tpl, 1 opt, >=256 data) |  length (incl. hdr)  |
 * |  body ... padded to a 4-byte boundary                         |
 *
 * Template record (RFC 3954 §5.2):  template_id | field_count | (type u16, length u16) x field_count
 * Options template (§6.1):          template_id | scope_length | option_length | scope (type, length)...
 *                                   | option (type, length)...   (lengths in bytes)
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

const HEADER_LENGTH = 20;

function readSpecs(buf: Buffer, off: number, count: number): FieldSpec[] {
  const specs: FieldSpec[] = new Array(count);
  for (let i = 0; i < count; i++) {
    // v9 has no enterprise bit: ids >= 32768 are plain ids
    specs[i] = { pen: 0, id: buf.readUInt16BE(off + i * 4), length: buf.readUInt16BE(off + i * 4 + 2) };
  }
  return specs;
}

function readTemplateSet(
  ctx: TemplateProtocolContext,
  session: PacketSession,
  buf: Buffer,
  start: number,
  end: number,
) {
  const learned: TemplateChange[] = [];
  let off = start;
  while (end - off >= 8) {
    const id = buf.readUInt16BE(off);
    const count = buf.readUInt16BE(off + 2);
    off += 4;
    if (id < 256) throw new DecodeError('bad_template', `template id ${id} is below 256`);
    if (count === 0) continue;
    if (end - off < 2 * count) {
      throw new DecodeError('bad_template', `template ${id} announces ${count} fields, the set ends first`, {
        templateId: id,
      });
    }
    // a template running past the set end is dropped silently, as Filebeat does
    if (end - off < 4 * count) break;
    const template = compileTemplate(
      ctx.dictionary,
      id,
      readSpecs(buf, off, count),
      0,
      false,
      false,
      session.known(id),
    );
    learned.push({ kind: 'learn', template });
    off += 4 * count;
  }
  session.apply(learned);
}

function readOptionsTemplateSet(
  ctx: TemplateProtocolContext,
  session: PacketSession,
  buf: Buffer,
  start: number,
  end: number,
) {
  const learned: TemplateChange[] = [];
  let off = start;
  while (end - off >= 6) {
    const id = buf.readUInt16BE(off);
    const scopeLength = buf.readUInt16BE(off + 2);
    const optionLength = buf.readUInt16BE(off + 4);
    off += 6;
    if (id < 256) throw new DecodeError('bad_options_template', `options template id ${id} is below 256`);
    // a zero scope length is legal (Juniper SRX sends it)
    if (scopeLength % 4 !== 0 || optionLength % 4 !== 0 || scopeLength + optionLength === 0) {
      throw new DecodeError(
        'bad_options_template',
        `options template ${id} has scope length ${scopeLength} and option length ${optionLength}`,
      );
    }
    if (end - off < scopeLength + optionLength) {
      throw new DecodeError('bad_options_template', `options template ${id} runs past the end of its set`, {
        templateId: id,
      });
    }
    const count = (scopeLength + optionLength) / 4;
    const specs = readSpecs(buf, off, count);
    // v9 scope fields are scope types (1 System, 2 Interface, ...): the options state reads them so
    const template = compileTemplate(
      ctx.dictionary,
      id,
      specs,
      scopeLength / 4,
      true,
      true,
      session.known(id),
    );
    learned.push({ kind: 'learn', template });
    off += scopeLength + optionLength;
  }
  session.apply(learned);
}

/**
 * Decodes one v9 packet into `out`. Its `consumed` is where flowset parsing stopped (v9 has no
 * packet length; a `.dat` file may hold another packet after it).
 */
export function decodeV9(
  ctx: TemplateProtocolContext,
  buf: Buffer,
  from: ExporterAddress,
  out: DecodedRecord[],
): PacketOutcome {
  if (buf.length < HEADER_LENGTH) {
    throw new DecodeError(
      'short_header',
      `NetFlow v9 header needs ${HEADER_LENGTH} bytes, got ${buf.length}`,
    );
  }
  let remainingSets = buf.readUInt16BE(2);
  const sequence = buf.readUInt32BE(12);
  const sourceId = buf.readUInt32BE(16);
  const exporter: ExporterMeta = {
    version: 9,
    timestamp: new Date(buf.readUInt32BE(8) * 1000),
    uptimeMillis: buf.readUInt32BE(4),
    address: from.address,
    ip: from.ip,
    sourceId,
    sequence,
  };
  const session = new PacketSession(ctx, sessionKey(ctx, from.address, sourceId), sequence, exporter, out);

  let off = HEADER_LENGTH;
  try {
    // count is records per the RFC; Filebeat reads at most that many flowsets
    for (; remainingSets > 0; remainingSets--) {
      if (buf.length - off < 4) break;
      const setId = buf.readUInt16BE(off);
      const length = buf.readUInt16BE(off + 2);
      if (setId === 0 && length === 0) break; // padding
      const bodyLength = length < 4 ? 0 : length - 4;
      off += 4;
      if (buf.length - off < bodyLength) {
        off -= 4;
        break;
      }
      const start = off;
      const end = off + bodyLength;
      off = end;
      if (setId >= 256) {
        session.data(setId, buf, start, end);
      } else if (setId === 0) {
        readTemplateSet(ctx, session, buf, start, end);
      } else if (setId === 1) {
        readOptionsTemplateSet(ctx, session, buf, start, end);
      } else {
        throw new DecodeError('bad_set_id', `flowset id ${setId} is reserved`);
      }
    }
  } catch (err) {
    throw session.failed(err);
  }
  session.finish(1);
  return { consumed: off, exporter, pended: session.pended };
}
