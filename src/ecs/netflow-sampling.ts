/**
 * R3, the sampling rate of a flow (NETFLOW.md 6): `netflow.sampling_rate`, the number of packets
 * each sampled packet stands for (1 = unsampled), where the record, its session's options data or
 * its packet says it.
 *
 *   first found wins:
 *     1. the record's own elements: samplingPacketInterval (305) with samplingPacketSpace (306):
 *        (interval + space) / interval; samplingInterval (34); samplerRandomInterval (50)
 *     2. with the session's options state (R6): the rate of the record's samplerId (48), else of
 *        its selectorId (302), in the sampler table
 *     3. the session-wide rate of an options record with no sampler id (System scope, or none)
 *     4. the v5/v6 header's sampling field: mode (2 bits) | interval (14 bits), when non-zero
 */
import { rateOf } from '../inputs/netflow/decoder/options-state.ts';
import type { FieldValue, FlowRecord, SessionOptionsView } from '../inputs/netflow/decoder/types.ts';

function positive(value: FieldValue | undefined): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

function uint(value: FieldValue | undefined): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}

/** `learned`: the session's options state, when the options enrichment is on (steps 2 and 3). */
export function samplingRate(record: FlowRecord, learned?: SessionOptionsView): number | undefined {
  const f = record.fields;
  const own = rateOf(
    positive(f.sampling_packet_interval),
    uint(f.sampling_packet_space),
    positive(f.sampling_interval),
    positive(f.sampler_random_interval),
  );
  if (own !== undefined) return own;
  if (learned !== undefined) {
    // the raw samplerId the decoder kept, else the document's (a 1-byte one decodes)
    const samplerId = record.samplerId ?? uint(f.sampler_id);
    const bySampler = samplerId === undefined ? undefined : learned.samplerRate(samplerId);
    if (bySampler !== undefined) return bySampler;
    const selectorId = uint(f.selector_id);
    const bySelector = selectorId === undefined ? undefined : learned.selectorRate(selectorId);
    if (bySelector !== undefined) return bySelector;
    if (learned.samplingRate !== undefined) return learned.samplingRate;
  }
  const { version, samplingInterval } = record.exporter;
  if ((version === 5 || version === 6) && samplingInterval !== undefined) {
    const headerInterval = samplingInterval & 0x3fff;
    if (headerInterval > 0) return headerInterval;
  }
  return undefined;
}
