/**
 * The messages between the netflow input and its decoding workers (pool.ts <-> worker.ts).
 *
 * Datagrams travel in batches packed into one transferred buffer (one message per worker per
 * event-loop turn, no copy on the way); documents come back as JSON text, ready for the outputs,
 * so that the input's thread only queues them.
 */
import type { NetflowInputConfig } from '../../../config/schema.ts';
import type { DecodeFailure } from '../datagram-processor.ts';
import type { DecoderOptions } from '../decoder/decoder.ts';
import type { DecoderState, DecodingSnapshot } from './stage.ts';

/** The decoder settings a worker builds its decoder with (the dictionary it builds itself). */
export type DecoderSettings = Pick<
  DecoderOptions,
  | 'compatibility'
  | 'protocols'
  | 'shareTemplates'
  | 'detectSequenceReset'
  | 'expirationTimeoutMs'
  | 'pending'
  | 'limits'
  | 'optionsState'
>;

/** `workerData` of a decoding worker. */
export interface WorkerSetup {
  readonly inputId: string;
  /** The input's configuration: the worker builds its own dictionary and normalizer from it. */
  readonly config: NetflowInputConfig;
  readonly decoder: DecoderSettings;
  /** Whether documents need their deterministic ids (an output that sends them: Elasticsearch). */
  readonly documentIds: boolean;
  readonly maxExporters: number;
}

export type ToWorker =
  | {
      readonly type: 'datagrams';
      /** The datagrams back to back; `ends[i]` is where datagram i ends. */
      readonly bytes: Uint8Array;
      readonly ends: readonly number[];
      /** Exporter `ip:port` and IP of each datagram. */
      readonly addresses: readonly string[];
      readonly ips: readonly string[];
      /** When the batch's datagrams were received (ms since the epoch). */
      readonly receivedMs: number;
    }
  | { readonly type: 'export'; readonly request: number }
  | { readonly type: 'import'; readonly request: number; readonly state: DecoderState }
  | { readonly type: 'stop' };

export type FromWorker =
  | { readonly type: 'ready' }
  | {
      readonly type: 'results';
      /** Datagrams of the batch decoded. */
      readonly done: number;
      readonly json: readonly string[];
      /** Parallel to `json` when the input asked for ids. */
      readonly ids: readonly string[] | undefined;
      /**
       * Failures to log (the first few of the batch: the input rate-limits its log anyway, and
       * the snapshot counts them all).
       */
      readonly failures: readonly DecodeFailure[];
      readonly snapshot?: DecodingSnapshot;
    }
  | { readonly type: 'snapshot'; readonly snapshot: DecodingSnapshot }
  | { readonly type: 'state'; readonly request: number; readonly state: DecoderState }
  | { readonly type: 'imported'; readonly request: number; readonly loaded: number }
  | {
      readonly type: 'stopped';
      readonly snapshot: DecodingSnapshot;
      /** Templates and options state as they are at the stop, for the template cache (R4). */
      readonly state: DecoderState;
    };
