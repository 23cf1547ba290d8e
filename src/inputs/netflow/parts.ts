/**
 * Builds the netflow pieces (field dictionary, ECS normalizer) from an input's configuration, in
 * one place for `run`, `decode` and each decoding worker, so that all produce the same documents.
 */
import type { NetflowInputConfig } from '../../config/schema.ts';
import { parseNetworks } from '../../ecs/locality.ts';
import { NetflowNormalizer } from '../../ecs/netflow.ts';
import { loadCustomDefinitions } from './fields/custom.ts';
import type { FieldDictionary } from './fields/dictionary.ts';
import { buildDictionary } from './fields/dictionary.ts';

export interface NetflowParts {
  readonly dictionary: FieldDictionary;
  readonly normalizer: NetflowNormalizer;
}

export function buildNetflowParts(config: NetflowInputConfig, now?: () => Date): NetflowParts {
  const custom = loadCustomDefinitions(config.custom_definitions);
  return {
    dictionary: buildDictionary({ compatibility: config.compatibility, custom }),
    normalizer: new NetflowNormalizer({
      internalNetworks: parseNetworks(config.internal_networks),
      tags: config.tags,
      namespace: config.namespace,
      fields: config.fields,
      fieldsUnderRoot: config.fields_under_root,
      now,
      // R2; `filebeat` compatibility keeps Filebeat's output, so no output-changing enrichment
      absoluteTimes: config.compatibility === 'extended' && config.enrich.absolute_times,
      samplingRate: config.compatibility === 'extended' && config.enrich.sampling_rate,
      scaleCounters: config.compatibility === 'extended' && config.enrich.scale_counters,
      // R6: interface/application names, sampler rates and init time from options data
      options: config.compatibility === 'extended' && config.enrich.options,
    }),
  };
}
