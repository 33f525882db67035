import type { DataItem } from './errors.js';
import type { Task } from './rules.js';

/** What a transport hands back: the HTTP-level status and the parsed body. */
export interface TransportReply {
  status: number;
  /** Parsed JSON, or null when a 429/5xx carried no JSON. */
  body: unknown;
  retryAfterMs?: number;
  /**
   * WebSocket only: the answer was an empty frame, which names no task. It may
   * belong to another message, so it never proves that a task is unknown.
   */
  untagged?: boolean;
}

/**
 * Sends one task array. Throws NetworkError (with `sent` telling whether the
 * body may have reached the server) or CancelledError; never interprets tasks.
 */
export interface SendOptions {
  signal?: AbortSignal;
  /** No answer within this many ms: NetworkError(sent, 'TIMEOUT'). Bounds every wait. */
  timeoutMs?: number;
  /** REST: `X-Runware-Dry-Run: 1` (whether Runware honours it is unknown; see src/runware/spend.ts). */
  dryRun?: boolean;
  /** WebSocket: each result item of the tasks sent, as its frame arrives (REST has one answer and ignores it). */
  onItem?: (item: DataItem) => void;
}

export interface Transport {
  readonly name: 'rest' | 'ws';
  send(tasks: Task[], opts: SendOptions): Promise<TransportReply>;
  close(): Promise<void>;
}
