/**
 * The composable index templates `flowship setup` installs (OUTPUT.md, INTERFACE.md `setup`): one
 * per data stream, `logs-netflow.log-*` and `logs-goflow2.sflow-*`, with ECS mappings for every
 * field the normalizers emit, so documents land with the types the Elastic `netflow` and `goflow2`
 * integrations give them (`ip`, `long`, `date`, `keyword`) and their dashboards work unchanged.
 *
 * Self-contained on purpose: no `composed_of`, because the Elasticsearch flowship's tests run
 * (the integ-test-zip distribution) has no `logs` template and no `ecs@mappings` component, and a
 * real cluster's may differ between 8.19 and 9.x. The same distribution has no
 * `constant-keyword`, `mapper-extras` or `unsigned-long` module either, so the default body uses
 * only the field types the server itself knows (`constant_keyword` is opt-in, see
 * {@link IndexTemplateOptions.constantKeyword}; `text` stands in for ECS's `match_only_text`).
 *
 *   template body
 *   ├─ index_patterns, priority 200, data_stream {}, version, _meta {managed_by, version, fingerprint}
 *   └─ template
 *      ├─ settings   total_fields.limit (+ ignore_dynamic_beyond_limit), optional ILM policy
 *      └─ mappings   dynamic true, no date/numeric detection
 *         ├─ properties         ECS fields (shared) + netflow.* (one per dictionary IE) | goflow2.*, sflow.*
 *         └─ dynamic_templates  netflow.scope.* and netflow.options.* by IE name; strings → keyword
 *
 * Type choices follow the integration's `fields.yml` (elastic/integrations packages/netflow,
 * data_stream/log/fields/package-fields.yml; names and types only, nothing copied): unsigned8 →
 * short, unsigned16 → integer, unsigned32/64 → long (64-bit counters with `ignore_malformed`, for
 * values above 2^63 - 1), octet arrays (arrays of byte values) → short, dates → date, addresses →
 * ip, strings and MACs → keyword.
 */

import { createHash } from 'node:crypto';
import { version as packageVersion } from '../../cli/version.ts';
import { GOFLOW2_DATASET } from '../../ecs/goflow2.ts';
import { NETFLOW_DATASET } from '../../ecs/netflow.ts';
import { defaultDictionary, type FieldDictionary } from '../../inputs/netflow/fields/dictionary.ts';
import type { IeType } from '../../inputs/netflow/fields/types.ts';

/** A composable index template: `PUT _index_template/<name>` with `body`. */
export interface IndexTemplate {
  readonly name: string;
  readonly body: Record<string, unknown>;
}

export interface IndexTemplateOptions {
  /**
   * The NetFlow/IPFIX dictionaries whose elements get explicit `netflow.*` mappings: the
   * dictionary each netflow input decodes with (`buildDictionary({compatibility, custom})`), so
   * `custom_definitions` fields are mapped too. Several are merged (a key two of them type
   * differently gets a type that accepts both). Default: the built-in `extended` dictionary,
   * which holds every entry of the `filebeat` one with the same name and type.
   */
  readonly netflowDictionary?: FieldDictionary | readonly FieldDictionary[];
  /**
   * Map `data_stream.*`, `event.dataset` and `event.module` as `constant_keyword`, as Fleet does.
   * Needs the x-pack `constant-keyword` module, which every full distribution has and the
   * integ-test-zip lacks (`GET _nodes/plugins` lists it under `modules`). Default false: plain
   * `keyword`, which indexes the same documents and answers the same queries.
   */
  readonly constantKeyword?: boolean;
  /** ILM policy for the backing indices (`index.lifecycle.name`); none by default. */
  readonly ilmPolicy?: string;
}

/**
 * Bumped whenever the code below changes a template body, so that `flowship setup` can tell an
 * installed template from an older one by its `version`. Bodies that differ only through options
 * (custom definitions, constant_keyword) carry the same version and differ in `_meta.fingerprint`.
 */
export const TEMPLATE_VERSION = 1;

/** Above the built-in `logs` template (100); Fleet's integration templates use the same value. */
export const TEMPLATE_PRIORITY = 200;

/** Named as Fleet names the integrations' templates: `<type>-<dataset>`. */
export const NETFLOW_TEMPLATE_NAME = `logs-${NETFLOW_DATASET}`;
export const GOFLOW2_TEMPLATE_NAME = `logs-${GOFLOW2_DATASET}`;

/** Mapped fields per index: the netflow dictionary is large and scope/options add to it. */
const NETFLOW_TOTAL_FIELDS_LIMIT = 10_000;
const GOFLOW2_TOTAL_FIELDS_LIMIT = 2_000;

type Mapping = Readonly<Record<string, unknown>>;
type Fields = Record<string, Mapping>;

// Longer keyword values are kept in _source but not indexed: a term above 32 766 bytes would
// reject the whole document (ECS uses the same limit).
const KEYWORD: Mapping = { type: 'keyword', ignore_above: 1024 };
const TEXT: Mapping = { type: 'text' };
const LONG: Mapping = { type: 'long' };
const INTEGER: Mapping = { type: 'integer' };
const SHORT: Mapping = { type: 'short' };
const BYTE: Mapping = { type: 'byte' };
const FLOAT: Mapping = { type: 'float' };
const DOUBLE: Mapping = { type: 'double' };
const BOOLEAN: Mapping = { type: 'boolean' };
const DATE: Mapping = { type: 'date' };
const IP: Mapping = { type: 'ip' };
const GEO_POINT: Mapping = { type: 'geo_point' };
/**
 * A 64-bit counter: `long`, as the integration maps them, but an unsigned value above 2^63 - 1
 * (which a uint64 field can hold) is left out of the index instead of rejecting the document.
 */
const COUNTER: Mapping = { type: 'long', ignore_malformed: true };
/** Stored in _source, never indexed: any JSON value is accepted. */
const UNINDEXED_OBJECT: Mapping = { type: 'object', enabled: false };
/** ECS `event.original`: kept for reading, neither searchable nor aggregatable. */
const ORIGINAL: Mapping = { type: 'keyword', index: false, doc_values: false };

/**
 * The `netflow.*` mapping of an information element's abstract type (NETFLOW.md 3.4: how the
 * decoder renders each one), or undefined for a type that never reaches a document.
 */
export function ieMapping(type: IeType): Mapping | undefined {
  switch (type) {
    case 'signed8':
      return BYTE;
    case 'unsigned8':
    case 'signed16':
      return SHORT;
    case 'unsigned16':
    case 'signed32':
      return INTEGER;
    case 'unsigned32':
    case 'signed64':
      return LONG;
    case 'unsigned64':
      return COUNTER;
    case 'float32':
      // a float32 widened to double is exactly representable as float
      return FLOAT;
    case 'float64':
      return DOUBLE;
    case 'boolean':
      return BOOLEAN;
    case 'macAddress':
    case 'string':
    case 'aclIdAsa':
      return KEYWORD;
    case 'octetArray':
      // rendered as an array of byte values ([3,0,0,80]); the integration maps them as short
      return SHORT;
    case 'dateTimeSeconds':
    case 'dateTimeMilliseconds':
    case 'dateTimeMicroseconds':
    case 'dateTimeNanoseconds':
      return DATE;
    case 'ipv4Address':
    case 'ipv6Address':
      return IP;
    case 'basicList':
    case 'subTemplateList':
    case 'subTemplateMultiList':
      // consumed, never emitted today; should a list ever be rendered, it is stored, not indexed
      return UNINDEXED_OBJECT;
    case 'skip':
      return undefined;
  }
}

const INTEGER_RANK: Readonly<Record<string, number>> = { byte: 1, short: 2, integer: 3, long: 4 };
const FLOATING = new Set(['float', 'double']);

/**
 * One mapping for a key that two elements type differently (IANA 372 `applicationCategoryName`
 * is a string, Cisco's 12232 an unsigned32): the narrowest that indexes the values of both.
 */
function widen(a: Mapping, b: Mapping): Mapping {
  if (JSON.stringify(a) === JSON.stringify(b)) return a;
  if (a === UNINDEXED_OBJECT) return b; // lists are never emitted; the other type's values are
  if (b === UNINDEXED_OBJECT) return a;
  const ta = a.type as string;
  const tb = b.type as string;
  const ignoreMalformed = a.ignore_malformed === true || b.ignore_malformed === true;
  if (ta in INTEGER_RANK && tb in INTEGER_RANK) {
    const wider = INTEGER_RANK[ta] >= INTEGER_RANK[tb] ? ta : tb;
    return ignoreMalformed ? { type: wider, ignore_malformed: true } : { type: wider };
  }
  const numeric = (t: string) => t in INTEGER_RANK || FLOATING.has(t);
  if (numeric(ta) && numeric(tb)) return DOUBLE;
  // keyword indexes strings, numbers, booleans, dates and addresses alike
  return KEYWORD;
}

/** Entries in code-unit order of their keys, so that bodies (and fingerprints) are stable. */
function keyOrder([a]: readonly [string, unknown], [b]: readonly [string, unknown]): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Keys the normalizer itself writes under `netflow.`; an element of the same name yields to them. */
const NETFLOW_OWN_KEYS = new Set(['exporter', 'type', 'scope', 'options', 'tcp_flags', 'sampling_rate']);

/** `netflow.<key>` -> mapping for every element of the dictionaries, keys sorted. */
function dictionaryMappings(dictionaries: readonly FieldDictionary[]): Map<string, Mapping> {
  const byKey = new Map<string, Mapping>();
  for (const dictionary of dictionaries) {
    for (const [, , def] of dictionary.entries()) {
      const mapping = ieMapping(def.type);
      // a dotted key would be an object path in Elasticsearch; leave such rare custom names dynamic
      if (mapping === undefined || NETFLOW_OWN_KEYS.has(def.key) || def.key.includes('.')) continue;
      const existing = byKey.get(def.key);
      byKey.set(def.key, existing === undefined ? mapping : widen(existing, mapping));
    }
  }
  return new Map([...byKey].sort(keyOrder));
}

/** Nested `properties` from dotted paths. */
function properties(fields: Fields): Record<string, unknown> {
  const root: Record<string, Record<string, unknown>> = {};
  for (const [path, mapping] of Object.entries(fields)) {
    const parts = path.split('.');
    let node = root;
    for (const part of parts.slice(0, -1)) {
      node[part] ??= { properties: {} };
      const next = node[part].properties as Record<string, Record<string, unknown>> | undefined;
      if (next === undefined) throw new Error(`index template: ${path} is under the field ${part}`);
      node = next;
    }
    const leaf = parts[parts.length - 1];
    if (node[leaf] !== undefined) throw new Error(`index template: ${path} is mapped twice`);
    node[leaf] = { ...mapping };
  }
  return root;
}

/** ECS fields of an endpoint (`source`, `destination`, `client`, `server`), GeoIP/ASN included. */
function endpoint(name: string): Fields {
  return {
    [`${name}.address`]: KEYWORD,
    [`${name}.ip`]: IP,
    [`${name}.port`]: LONG,
    [`${name}.mac`]: KEYWORD,
    // not ECS: Filebeat's netflow input sets it, the integration maps it as keyword
    [`${name}.locality`]: KEYWORD,
    [`${name}.bytes`]: COUNTER,
    [`${name}.packets`]: COUNTER,
    [`${name}.as.number`]: LONG,
    [`${name}.as.organization.name`]: KEYWORD,
    [`${name}.geo.city_name`]: KEYWORD,
    [`${name}.geo.continent_name`]: KEYWORD,
    [`${name}.geo.country_iso_code`]: KEYWORD,
    [`${name}.geo.country_name`]: KEYWORD,
    [`${name}.geo.location`]: GEO_POINT,
    [`${name}.geo.region_iso_code`]: KEYWORD,
    [`${name}.geo.region_name`]: KEYWORD,
  };
}

function interfaceFields(direction: 'ingress' | 'egress'): Fields {
  return {
    [`observer.${direction}.interface.id`]: KEYWORD,
    [`observer.${direction}.interface.name`]: KEYWORD,
    [`observer.${direction}.interface.alias`]: KEYWORD,
    [`observer.${direction}.vlan.id`]: KEYWORD,
  };
}

/** The ECS fields both data streams share; each template adds its own. */
function ecsFields(dataset: string, module: string, constantKeyword: boolean): Fields {
  const constant = (value?: string): Mapping =>
    !constantKeyword
      ? KEYWORD
      : value === undefined
        ? { type: 'constant_keyword' }
        : { type: 'constant_keyword', value };
  const fields: Fields = {
    '@timestamp': DATE,
    'agent.ephemeral_id': KEYWORD,
    'agent.id': KEYWORD,
    'agent.name': KEYWORD,
    'agent.type': KEYWORD,
    'agent.version': KEYWORD,
    'data_stream.dataset': constant(dataset),
    // one namespace per data stream, known only when its first document arrives
    'data_stream.namespace': constant(),
    'data_stream.type': constant('logs'),
    'ecs.version': KEYWORD,
    'error.message': TEXT,
    'error.type': KEYWORD,
    'event.action': KEYWORD,
    'event.category': KEYWORD,
    'event.created': DATE,
    'event.dataset': constant(dataset),
    'event.duration': LONG,
    'event.end': DATE,
    'event.ingested': DATE,
    'event.kind': KEYWORD,
    'event.original': ORIGINAL,
    'event.start': DATE,
    'event.timezone': KEYWORD,
    'event.type': KEYWORD,
    'host.hostname': KEYWORD,
    'host.name': KEYWORD,
    'input.type': KEYWORD,
    message: TEXT,
    'network.application': KEYWORD,
    'network.bytes': COUNTER,
    'network.community_id': KEYWORD,
    'network.direction': KEYWORD,
    'network.iana_number': KEYWORD,
    'network.name': KEYWORD,
    'network.packets': COUNTER,
    'network.transport': KEYWORD,
    'network.type': KEYWORD,
    'observer.ip': IP,
    ...interfaceFields('ingress'),
    ...interfaceFields('egress'),
    'related.ip': IP,
    tags: KEYWORD,
    ...endpoint('source'),
    ...endpoint('destination'),
  };
  // Fleet keeps the module in the mapping only (not in _source): with a plain keyword there is
  // nothing to answer `event.module: netflow`, but a document that carries it still indexes.
  fields['event.module'] = constant(module);
  return fields;
}

/** Unknown strings (custom GoFlow2 fields, `fields.*`, future IEs) become keyword, never text. */
const STRINGS_AS_KEYWORD = {
  strings_as_keyword: { match_mapping_type: 'string', mapping: KEYWORD },
};

/**
 * `netflow.scope.*` and `netflow.options.*` hold the same elements as flow records, but only a
 * handful ever appear (sampling, interface and application tables). Dynamic templates that list
 * each element by name give them their element's type when they first appear, without mapping
 * the whole dictionary twice more up front.
 */
function scopeOptionsTemplates(byKey: ReadonlyMap<string, Mapping>): Record<string, unknown>[] {
  const buckets = new Map<string, { mapping: Mapping; names: string[] }>();
  for (const [key, mapping] of byKey) {
    const id = JSON.stringify(mapping);
    let bucket = buckets.get(id);
    if (bucket === undefined) buckets.set(id, (bucket = { mapping, names: [] }));
    bucket.names.push(key);
  }
  return [...buckets.values()].map(({ mapping, names }) => {
    const suffix = [
      mapping.type,
      mapping.enabled === false ? 'disabled' : '',
      mapping.ignore_malformed ? 'lenient' : '',
    ]
      .filter((s) => s !== '')
      .join('_');
    return {
      [`netflow_scope_options_${suffix}`]: {
        path_match: ['netflow.scope.*', 'netflow.options.*'],
        match: names,
        mapping,
      },
    };
  });
}

function netflowTemplate(constantKeyword: boolean): Fields {
  return {
    ...ecsFields(NETFLOW_DATASET, 'netflow', constantKeyword),
    ...endpoint('client'),
    ...endpoint('server'),
    'flow.id': KEYWORD,
    'flow.locality': KEYWORD,
    'netflow.exporter.address': KEYWORD,
    'netflow.exporter.aggregation': SHORT,
    'netflow.exporter.aggregation_version': SHORT,
    'netflow.exporter.engine_id': SHORT,
    'netflow.exporter.engine_type': SHORT,
    'netflow.exporter.sampling_interval': LONG,
    'netflow.exporter.source_id': LONG,
    'netflow.exporter.timestamp': DATE,
    'netflow.exporter.uptime_millis': LONG,
    'netflow.exporter.version': INTEGER,
    'netflow.sampling_rate': LONG,
    'netflow.tcp_flags': KEYWORD,
    'netflow.type': KEYWORD,
  };
}

/** GoFlow2 keys as `goflow2.*` leftovers (GOFLOW2.md 1.2), by how GoFlow2 renders them. */
const GOFLOW2_STRING_KEYS = [
  'bgp_next_hop',
  'dst_addr',
  'dst_mac',
  'dst_net',
  'etype',
  'ipv6_routing_header_addresses',
  'layer_stack',
  'mpls_ip',
  'next_hop',
  'proto',
  'sampler_address',
  'src_addr',
  'src_mac',
  'src_net',
  'type',
];
const GOFLOW2_INTEGER_KEYS = [
  'as_path',
  'bgp_communities',
  'bytes',
  'dst_as',
  'dst_port',
  'dst_vlan',
  'flow_size',
  'forwarding_status',
  'fragment_id',
  'fragment_offset',
  'icmp_code',
  'icmp_type',
  'in_if',
  'ip_flags',
  'ip_tos',
  'ip_ttl',
  'ipv6_flow_label',
  'ipv6_routing_header_seg_left',
  'layer_size',
  'mpls_label',
  'mpls_ttl',
  'next_hop_as',
  'observation_domain_id',
  'observation_point_id',
  'out_if',
  'packets',
  'sampling_rate',
  'sequence_num',
  'src_as',
  'src_port',
  'src_vlan',
  'tcp_flags',
  'time_flow_end_ns',
  'time_flow_start_ns',
  'time_received_ns',
  'vlan_id',
];

function goflow2Template(constantKeyword: boolean): Fields {
  const fields: Fields = {
    ...ecsFields(GOFLOW2_DATASET, 'goflow2', constantKeyword),
    'log.file.device_id': KEYWORD,
    'log.file.fingerprint': KEYWORD,
    'log.file.inode': KEYWORD,
    'log.file.path': KEYWORD,
    'log.offset': LONG,
    'sflow.bytes': LONG,
    'sflow.sample_rate': LONG,
    'sflow.sequence_num': LONG,
  };
  // Leftovers keep their JSON types, and failure documents (GOFLOW2.md 2.5) keep every key as
  // the line had it: a `formatter.render` can turn a number into text (`time_received_ns` as an
  // RFC 3339 string) and a failed step leaves what made it fail (an invalid `src_addr`, a string
  // `time_flow_start_ns`). Keywords take any scalar; the numbers skip what does not parse.
  for (const key of GOFLOW2_STRING_KEYS) fields[`goflow2.${key}`] = KEYWORD;
  for (const key of GOFLOW2_INTEGER_KEYS) fields[`goflow2.${key}`] = COUNTER;
  return fields;
}

function sortedFields(fields: Fields): Fields {
  return Object.fromEntries(Object.entries(fields).sort(keyOrder));
}

function templateBody(
  pattern: string,
  description: string,
  totalFields: number,
  mappings: Record<string, unknown>,
  ilmPolicy: string | undefined,
): Record<string, unknown> {
  const index: Record<string, unknown> = {
    mapping: { total_fields: { limit: totalFields, ignore_dynamic_beyond_limit: true } },
  };
  if (ilmPolicy !== undefined) index.lifecycle = { name: ilmPolicy };
  const body: Record<string, unknown> = {
    index_patterns: [pattern],
    priority: TEMPLATE_PRIORITY,
    data_stream: {},
    version: TEMPLATE_VERSION,
    template: { settings: { index }, mappings },
  };
  // lets `flowship setup` see that options (custom definitions, constant_keyword) changed a body
  const fingerprint = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 16);
  body._meta = { managed_by: 'flowship', description, version: packageVersion(), fingerprint };
  return body;
}

/**
 * The templates for both data streams, netflow first. Pure: the same options give the same
 * bodies, byte for byte.
 */
export function indexTemplates(options: IndexTemplateOptions = {}): IndexTemplate[] {
  const { netflowDictionary, constantKeyword = false, ilmPolicy } = options;
  const dictionaries =
    netflowDictionary === undefined
      ? [defaultDictionary('extended')]
      : Array.isArray(netflowDictionary)
        ? (netflowDictionary as readonly FieldDictionary[])
        : [netflowDictionary as FieldDictionary];
  const byKey = dictionaryMappings(dictionaries);

  const netflowFields = sortedFields(netflowTemplate(constantKeyword));
  const netflowProperties = properties(netflowFields);
  const netflow = netflowProperties.netflow as { properties: Record<string, unknown> };
  for (const [key, mapping] of byKey) netflow.properties[key] ??= { ...mapping };
  // scope and options are objects whose children the dynamic templates type
  netflow.properties.scope = { type: 'object' };
  netflow.properties.options = { type: 'object' };
  netflow.properties = Object.fromEntries(Object.entries(netflow.properties).sort(keyOrder));

  const common = { dynamic: true, date_detection: false, numeric_detection: false };
  return [
    {
      name: NETFLOW_TEMPLATE_NAME,
      body: templateBody(
        `logs-${NETFLOW_DATASET}-*`,
        'flowship: NetFlow/IPFIX records as the Elastic netflow integration indexes them',
        NETFLOW_TOTAL_FIELDS_LIMIT,
        {
          ...common,
          dynamic_templates: [...scopeOptionsTemplates(byKey), STRINGS_AS_KEYWORD],
          properties: netflowProperties,
        },
        ilmPolicy,
      ),
    },
    {
      name: GOFLOW2_TEMPLATE_NAME,
      body: templateBody(
        `logs-${GOFLOW2_DATASET}-*`,
        'flowship: GoFlow2 sFlow lines as the Elastic goflow2 integration indexes them',
        GOFLOW2_TOTAL_FIELDS_LIMIT,
        {
          ...common,
          dynamic_templates: [STRINGS_AS_KEYWORD],
          properties: properties(sortedFields(goflow2Template(constantKeyword))),
        },
        ilmPolicy,
      ),
    },
  ];
}
