/**
 * Where Filebeat's field dictionary departs from the Logstash `ipfix.yaml` the generated table
 * holds. Hand-written data, transcribed from fixtures/reference/README.md "Reproducing Filebeat's
 * dictionary exactly (`compatibility: filebeat`)", which was read off Filebeat's own tables
 * (elastic/beats x-pack/filebeat/input/netflow/decoder/fields) and the IANA IPFIX registry.
 * Names and types only; no code or text taken from either. `dictionary.ts` applies them.
 */

import type { IeType } from './types.ts';

/** `[id, type]`, or `[id, type, name]` where the YAML has no name (it skips the id). */
export type TypeOverride = readonly [id: number, type: IeType, name?: string];
export type Definition = readonly [id: number, name: string, type: IeType];
/** Inclusive id range; `[n, n]` for a single id. */
export type IdRange = readonly [first: number, last: number];

/**
 * PEN 0: IANA abstract types where the YAML simplifies. Without them dates decode as plain
 * integers, octet arrays as strings and booleans as numbers. Applied in both modes.
 */
export const IANA_TYPE_OVERRIDES: readonly TypeOverride[] = [
  ...ids([150, 151, 260, 261, 264, 265, 322], 'dateTimeSeconds'),
  ...ids([152, 153, 160, 258, 269, 272, 323, 359, 360], 'dateTimeMilliseconds'),
  ...ids([154, 155, 268, 271, 324], 'dateTimeMicroseconds'),
  ...ids([156, 157, 270, 273, 325], 'dateTimeNanoseconds'),
  ...ids([70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 90, 95, 104, 262, 266, 274, 275], 'octetArray'),
  ...ids([313, 314, 315, 316, 317, 347, 349, 411], 'octetArray'),
  [210, 'octetArray', 'paddingOctets'],
  ...ids([276, 333, 388, 389], 'boolean'),
  [89, 'unsigned8'], // forwardingStatus; the YAML says uint32
  [291, 'basicList', 'basicList'],
  [292, 'subTemplateList', 'subTemplateList'],
  [293, 'subTemplateMultiList', 'subTemplateMultiList'],
];

/** PEN 0, IANA ids 434-482, which the YAML predates. Newer IANA ids are not in Filebeat. */
export const IANA_ADDITIONS: readonly Definition[] = [
  [434, 'mibObjectValueInteger', 'signed32'],
  [435, 'mibObjectValueOctetString', 'octetArray'],
  [436, 'mibObjectValueOID', 'octetArray'],
  [437, 'mibObjectValueBits', 'octetArray'],
  [438, 'mibObjectValueIPAddress', 'ipv4Address'],
  [439, 'mibObjectValueCounter', 'unsigned64'],
  [440, 'mibObjectValueGauge', 'unsigned32'],
  [441, 'mibObjectValueTimeTicks', 'unsigned32'],
  [442, 'mibObjectValueUnsigned', 'unsigned32'],
  [443, 'mibObjectValueTable', 'subTemplateList'],
  [444, 'mibObjectValueRow', 'subTemplateList'],
  [445, 'mibObjectIdentifier', 'octetArray'],
  [446, 'mibSubIdentifier', 'unsigned32'],
  [447, 'mibIndexIndicator', 'unsigned64'],
  [448, 'mibCaptureTimeSemantics', 'unsigned8'],
  [449, 'mibContextEngineID', 'octetArray'],
  [450, 'mibContextName', 'string'],
  [451, 'mibObjectName', 'string'],
  [452, 'mibObjectDescription', 'string'],
  [453, 'mibObjectSyntax', 'string'],
  [454, 'mibModuleName', 'string'],
  [455, 'mobileIMSI', 'string'],
  [456, 'mobileMSISDN', 'string'],
  [457, 'httpStatusCode', 'unsigned16'],
  [458, 'sourceTransportPortsLimit', 'unsigned16'],
  [459, 'httpRequestMethod', 'string'],
  [460, 'httpRequestHost', 'string'],
  [461, 'httpRequestTarget', 'string'],
  [462, 'httpMessageVersion', 'string'],
  [463, 'natInstanceID', 'unsigned32'],
  [464, 'internalAddressRealm', 'octetArray'],
  [465, 'externalAddressRealm', 'octetArray'],
  [466, 'natQuotaExceededEvent', 'unsigned32'],
  [467, 'natThresholdEvent', 'unsigned32'],
  [468, 'httpUserAgent', 'string'],
  [469, 'httpContentType', 'string'],
  [470, 'httpReasonPhrase', 'string'],
  [471, 'maxSessionEntries', 'unsigned32'],
  [472, 'maxBIBEntries', 'unsigned32'],
  [473, 'maxEntriesPerUser', 'unsigned32'],
  [474, 'maxSubscribers', 'unsigned32'],
  [475, 'maxFragmentsPendingReassembly', 'unsigned32'],
  [476, 'addressPoolHighThreshold', 'unsigned32'],
  [477, 'addressPoolLowThreshold', 'unsigned32'],
  [478, 'addressPortMappingHighThreshold', 'unsigned32'],
  [479, 'addressPortMappingLowThreshold', 'unsigned32'],
  [480, 'addressPortMappingPerUserHighThreshold', 'unsigned32'],
  [481, 'globalAddressMappingHighThreshold', 'unsigned32'],
  [482, 'vpnIdentifier', 'octetArray'],
];

/** PEN 0, Cisco ASA/IOS firewall (NSEL) ids; not IANA-registered, not in the YAML under these names. */
export const NSEL_FIELDS: readonly Definition[] = [
  [33000, 'ingressAclID', 'aclIdAsa'],
  [33001, 'egressAclID', 'aclIdAsa'],
  [33002, 'fwExtEvent', 'unsigned16'],
  [33003, 'fwEventLevel', 'unsigned32'],
  [33004, 'fwEventLevelID', 'unsigned32'],
  [33005, 'fwConfiguredValue', 'unsigned32'],
  [34000, 'fwCtsSrcSGT', 'unsigned32'],
  [35001, 'fwExtEventAlt', 'unsigned32'],
  [35004, 'fwBlackoutSecs', 'unsigned32'],
  [35005, 'fwHalfOpenHigh', 'unsigned32'],
  [35006, 'fwHalfOpenRate', 'unsigned32'],
  [35007, 'fwZonePairID', 'unsigned32'],
  [35008, 'fwMaxSessions', 'unsigned32'],
  [35009, 'fwZonePairName', 'unsigned32'],
  [35010, 'fwExtEventDesc', 'string'],
  [35011, 'fwSummaryPktCount', 'unsigned32'],
  [35012, 'fwHalfOpenCount', 'unsigned32'],
  [40000, 'username', 'string'],
  [40001, 'XlateSourceAddressIPV4', 'ipv4Address'],
  [40002, 'XlateDestinationAddressIPV4', 'ipv4Address'],
  [40003, 'XlateSourcePort', 'unsigned16'],
  [40004, 'XlateDestinationPort', 'unsigned16'],
  [40005, 'FirewallEvent', 'unsigned8'],
];

/**
 * PEN 9 (Cisco AVC/ART) as Filebeat has it, in its table's order. It replaces the YAML's PEN 9
 * in `filebeat` mode and overrides it in `extended` mode. 9360 is listed twice in Filebeat; the
 * later row wins [inferred], as it does here.
 */
export const FILEBEAT_PEN9: readonly Definition[] = [
  [8232, 'PolicyQosClassificationHierarchy', 'unsigned32'],
  [9252, 'waasoptimizationSegment', 'unsigned8'],
  [9265, 'artClientpackets', 'unsigned64'],
  [9266, 'artServerpackets', 'unsigned64'],
  [9268, 'artCountRetransmissions', 'unsigned32'],
  [9272, 'artCountTransactions', 'unsigned32'],
  [9273, 'artTotalTransactionTimeSum', 'unsigned32'],
  [9274, 'artTotalTransactionTimeMaximum', 'unsigned32'],
  [9275, 'artTotalTransactionTimeMinimum', 'unsigned32'],
  [9282, 'artCountNewConnections', 'unsigned32'],
  [9292, 'artCountResponses', 'unsigned32'],
  [9293, 'artCountResponsesHistogramBucket1', 'unsigned32'],
  [9294, 'artCountResponsesHistogramBucket2', 'unsigned32'],
  [9295, 'artCountResponsesHistogramBucket3', 'unsigned32'],
  [9296, 'artCountResponsesHistogramBucket4', 'unsigned32'],
  [9297, 'artCountResponsesHistogramBucket5', 'unsigned32'],
  [9298, 'artCountResponsesHistogramBucket6', 'unsigned32'],
  [9299, 'artCountResponsesHistogramBucket7', 'unsigned32'],
  [9300, 'artCountLateResponses', 'unsigned32'],
  [9303, 'artResponseTimeSum', 'unsigned32'],
  [9304, 'artResponseTimeMaximum', 'unsigned32'],
  [9305, 'artResponseTimeMinimum', 'unsigned32'],
  [9306, 'artServerResponseTimeSum', 'unsigned32'],
  [9307, 'artServerResponseTimeMaximum', 'unsigned32'],
  [9308, 'artServerResponseTimeMinimum', 'unsigned32'],
  [9309, 'artTotalResponseTimeSum', 'unsigned32'],
  [9310, 'artTotalResponseTimeMaximum', 'unsigned32'],
  [9311, 'artTotalResponseTimeMinimum', 'unsigned32'],
  [9313, 'artNetworkTimeSum', 'unsigned32'],
  [9314, 'artNetworkTimeMaximum', 'unsigned32'],
  [9315, 'artNetworkTimeMinimum', 'unsigned32'],
  [9316, 'artClientNetworkTimeSum', 'unsigned32'],
  [9317, 'artClientNetworkTimeMaximum', 'unsigned32'],
  [9318, 'artClientNetworkTimeMinimum', 'unsigned32'],
  [9319, 'artServerNetworkTimeSum', 'unsigned32'],
  [9320, 'artServerNetworkTimeMaximum', 'unsigned32'],
  [9321, 'artServerNetworkTimeMinimum', 'unsigned32'],
  [9357, 'applicationHttpUriStatistics', 'octetArray'],
  [9360, 'PolicyQosQueueindex', 'unsigned32'],
  [9360, 'PolicyQosQueueINDEX', 'unsigned32'],
  [9361, 'PolicyQosQueuedrops', 'unsigned64'],
  // Same names as IANA 372-374 (strings) but unsigned32 here: the keys collide on purpose.
  [12232, 'applicationCategoryName', 'unsigned32'],
  [12233, 'applicationSubCategoryName', 'unsigned32'],
  [12234, 'applicationGroupName', 'unsigned32'],
  [12235, 'applicationHttpUser-agent', 'octetArray'],
  [12243, 'applicationTraffic-class', 'unsigned32'],
  [12244, 'applicationBusiness-relevance', 'unsigned32'],
  [32733, 'timestampAbsoluteMonitoring-interval', 'unsigned64'],
];

/**
 * YAML entries Filebeat does not have (the YAML gained them later). Left out in `filebeat` mode
 * only; PEN 9 is absent from this list because FILEBEAT_PEN9 replaces it as a whole.
 */
export const FILEBEAT_EXCLUDED_PENS: readonly number[] = [26866];
export const FILEBEAT_EXCLUDED_IDS: ReadonlyMap<number, readonly IdRange[]> = new Map<
  number,
  readonly IdRange[]
>([
  [
    5951,
    [
      [358, 362],
      [364, 367],
      [377, 377],
      [380, 380],
      [384, 389],
      [392, 394],
      [399, 403],
      [408, 408],
      [434, 435],
      [447, 448],
      [451, 452],
      [455, 455],
      [458, 461],
      [463, 464],
      [466, 468],
      [475, 481],
      [487, 489],
      [491, 494],
      [507, 514],
      [518, 523],
      [532, 538],
      [541, 541],
    ],
  ],
  [
    15397,
    [
      [49, 67],
      [69, 70],
    ],
  ],
]);

/** Vendor ids whose Filebeat type differs from the YAML's; applied in both modes. */
export const FILEBEAT_VENDOR_TYPE_OVERRIDES: readonly (readonly [pen: number, id: number, type: IeType])[] = [
  [5951, 193, 'unsigned64'], // netscalerConnectionChainHopCount; the YAML says uint8
];

function ids(list: readonly number[], type: IeType): TypeOverride[] {
  return list.map((id) => [id, type] as const);
}
