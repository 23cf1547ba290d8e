/**
 * What `run` refuses in a configuration that is otherwise valid, checked in one place so that
 * `test config` reports exactly what `run` would.
 */
import type { Config } from '../config/schema.ts';
import { FlowshipError } from '../util/errors.ts';

export function elasticsearchUnavailable(): FlowshipError {
  return new FlowshipError(
    'FLOWSHIP_CONFIG',
    'output.elasticsearch is not available in this version of flowship; use output.file or output.console',
  );
}

/** Throws a `FlowshipError` (`FLOWSHIP_CONFIG`) for a setting this version of `run` cannot honour. */
export function checkRunnable(config: Config): void {
  if (config.output.type === 'elasticsearch') throw elasticsearchUnavailable();
}
