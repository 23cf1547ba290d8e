/**
 * R6, what a flow gains from its session's options data (NETFLOW.md 6), with `compatibility:
 * extended` and `enrich.options`: the decoder keeps the exporter's interface and application
 * tables per session (decoder/options-state.ts) and hands them to the flow's ExporterMeta.
 *
 *   observer.ingress.interface  {id, name, alias}  ingressInterface (10) in the interface table
 *   observer.egress.interface   {id, name, alias}  egressInterface (14) alike
 *                                                   id = the ifIndex as text (ECS keyword),
 *                                                   name = interfaceName (82),
 *                                                   alias = interfaceDescription (83)
 *   network.application         applicationName (96) of the record's applicationId (95),
 *                               lower-cased, when the record has the id but not the name
 *
 * Only what the table knows is added: an ifIndex the exporter never described adds nothing, so
 * documents stay as they are until options data arrive. Nothing the record carries is changed.
 * The session's sampling rate (R3) and system init time (R2) are read by netflow-sampling.ts and
 * netflow-times.ts.
 */
import type { FieldMap, FieldValue, SessionOptionsView } from '../inputs/netflow/decoder/types.ts';

function uint(value: FieldValue | undefined): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}

/** The ECS interface object of ifIndex `value`, when the session's table describes it. */
function ecsInterface(
  learned: SessionOptionsView,
  value: FieldValue | undefined,
): Record<string, string> | undefined {
  const ifIndex = uint(value);
  if (ifIndex === undefined) return undefined;
  const names = learned.interfaceNames(ifIndex);
  if (names === undefined) return undefined;
  const out: Record<string, string> = { id: String(ifIndex) };
  if (names.name !== undefined) out.name = names.name;
  if (names.description !== undefined) out.alias = names.description;
  return out;
}

/**
 * `observer.ingress.interface` / `observer.egress.interface` members (`,"ingress":{…}`) for the
 * record's `ingress_interface` / `egress_interface` the session's interface table knows, or ''.
 */
export function observerInterfacesJson(fields: FieldMap, learned: SessionOptionsView): string {
  let out = '';
  const ingress = ecsInterface(learned, fields.ingress_interface);
  if (ingress !== undefined) out += `,"ingress":{"interface":${JSON.stringify(ingress)}}`;
  const egress = ecsInterface(learned, fields.egress_interface);
  if (egress !== undefined) out += `,"egress":{"interface":${JSON.stringify(egress)}}`;
  return out;
}

/**
 * `network.application`: the lower-cased name of the record's `application_id` in the session's
 * application table, when the record has no `application_name` of its own.
 */
export function applicationName(fields: FieldMap, learned: SessionOptionsView): string | undefined {
  if (fields.application_name !== undefined) return undefined;
  const id = fields.application_id;
  if (!Array.isArray(id)) return undefined;
  return learned.applicationNames(id)?.name?.toLowerCase();
}
