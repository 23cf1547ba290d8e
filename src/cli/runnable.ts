/**
 * What `run` refuses in a configuration that is otherwise valid, checked in one place so that
 * `test config` reports exactly what `run` would.
 */
import type { Config } from '../config/schema.ts';
import { clientOptions } from '../outputs/elasticsearch/connection.ts';

/**
 * Throws a `FlowshipError` (`FLOWSHIP_CONFIG`) for a setting this version of `run` cannot honour:
 * for Elasticsearch, a certificate authority file that cannot be read.
 */
export function checkRunnable(config: Config): void {
  if (config.output.type === 'elasticsearch') clientOptions(config.output);
}
