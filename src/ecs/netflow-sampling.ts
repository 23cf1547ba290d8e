/**
 * R3, the sampling rate of a flow (NETFLOW.md 6): `netflow.sampling_rate`, the number of packets
 * each sampled packet stands for (1 = unsampled), where the record or its packet says it.
 *
 *   the record's own elements, first found wins:
 *     samplingPacketInterval (305) with samplingPacketSpace (306): (interval + space) / interval
 *     samplingInterval (34), samplerRandomInterval (50): the rate itself
 *   else the v5/v6 header's sampling field: mode (2 bits) | interval (14 bits), when non-zero
 *
 * What options data announce per session or per sampler id (R3 with R6) needs the decoder to
 * keep them per session; that part is not here yet.
 */
import type { FieldValue, FlowRecord } from '../inputs/netflow/decoder/types.ts';

function positive(value: FieldValue | undefined): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

export function samplingRate(record: FlowRecord): number | undefined {
  const f = record.fields;
  const interval = positive(f.sampling_packet_interval);
  const space = f.sampling_packet_space;
  if (interval !== undefined && typeof space === 'number' && Number.isInteger(space) && space >= 0) {
    return Math.round((interval + space) / interval);
  }
  const own = positive(f.sampling_interval) ?? positive(f.sampler_random_interval);
  if (own !== undefined) return own;
  const { version, samplingInterval } = record.exporter;
  if ((version === 5 || version === 6) && samplingInterval !== undefined) {
    const headerInterval = samplingInterval & 0x3fff;
    if (headerInterval > 0) return headerInterval;
  }
  return undefined;
}
