/**
 * Errors with a stable `code`, so callers and tests match on codes, not message text.
 * Hot paths (packet handlers, line callbacks) never throw these to the event loop: they count
 * and log them at a rate limit. Decoders throw `DecodeError`; the input catches it per datagram.
 */
export type ErrorCode =
  | 'FLOWSHIP_CONFIG'
  | 'FLOWSHIP_USAGE'
  | 'FLOWSHIP_DECODE'
  | 'FLOWSHIP_TEMPLATE_MISSING'
  | 'FLOWSHIP_CUSTOM_DEFINITIONS'
  | 'FLOWSHIP_CAPTURE'
  | 'FLOWSHIP_OUTPUT'
  | 'FLOWSHIP_QUEUE_CLOSED'
  | 'FLOWSHIP_QUEUE_CORRUPT'
  | 'FLOWSHIP_REGISTRY';

export class FlowshipError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'FlowshipError';
  }
}

/** A datagram (or a file record) that cannot be decoded; `reason` is a short stable label for metrics. */
export class DecodeError extends FlowshipError {
  readonly reason: string;
  /** The template whose data (or definition) failed, when there is one: logged with the exporter. */
  readonly templateId?: number;
  constructor(reason: string, message: string, options?: { cause?: unknown; templateId?: number }) {
    super('FLOWSHIP_DECODE', message, options);
    this.reason = reason;
    if (options?.templateId !== undefined) this.templateId = options.templateId;
    this.name = 'DecodeError';
  }
}

export class ConfigError extends FlowshipError {
  /** Every problem found, each already prefixed with `file:line:column: ` where known. */
  readonly problems: string[];
  constructor(problems: string[]) {
    super('FLOWSHIP_CONFIG', problems.join('\n'));
    this.problems = problems;
    this.name = 'ConfigError';
  }
}
