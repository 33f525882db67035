/** Builds a RunwareClient from plain options (the core never reads env itself). */
import { ConfigError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { RunwareClient, type ClientOptions } from './client.js';
import type { PollSchedule } from './poll.js';
import { RestTransport } from './rest.js';
import type { RetryPolicy } from './retry.js';
import { Rules } from './rules.js';
import { SETTLE_UNIT_MS, TUNABLE, WS } from './timing.js';
import { WsTransport } from './ws.js';
import type { ClientLedger } from '../state/ledger.js';
import type { Limiter } from '../shared/limiter.js';

export interface RunwareSetup {
  apiKey: string | undefined;
  apiUrl: string;
  wsUrl: string;
  transport: 'rest' | 'ws';
  maxConcurrency: number;
  userAgent: string;
  logger: Logger;
  /** Missing-key explanation to raise when no key is set. */
  missingKeyHint: string;
  pollSchedule?: PollSchedule;
  retry?: RetryPolicy;
  rules?: Rules;
  /** How long a read, and a sent task, wait for an answer (before timeScale); defaults in timing.ts. */
  readTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Scales the transport's and client's timeouts (tests against a fast simulator); default 1. */
  timeScale?: number;
  journal?: ClientLedger;
  /** A concurrency limit shared across instances; default: this process's own. */
  limiter?: Limiter;
  /** One info line per finished task (HTTP instances, for watching a fleet). */
  logTasks?: boolean;
  /** Quote sources and the confirmation threshold (src/runware/spend.ts). */
  spend?: ClientOptions['spend'];
  /** `never`: a task whose fate is unknown is reported unknown, never resent. */
  resendUnknown?: 'after-settle' | 'never';
}

export function createRunwareClient(s: RunwareSetup): RunwareClient {
  if (!s.apiKey) throw new ConfigError(s.missingKeyHint);
  const k = s.timeScale ?? 1;
  const ms = (base: number, floor: number): number => Math.max(floor, Math.round(base * k));
  const transport =
    s.transport === 'ws'
      ? new WsTransport({
          url: s.wsUrl,
          apiKey: s.apiKey,
          logger: s.logger,
          authTimeoutMs: ms(WS.authTimeoutMs, 500),
          pingIntervalMs: ms(WS.pingIntervalMs, 50),
          pongTimeoutMs: ms(WS.pongTimeoutMs, 100),
          replayGraceMs: ms(WS.replayGraceMs, 50),
        })
      : new RestTransport({
          url: s.apiUrl,
          apiKey: s.apiKey,
          userAgent: s.userAgent,
          connections: Math.max(8, 2 * s.maxConcurrency + 4),
          // The agent must not cut off an answer the request timeout still waits for (each request has its own, shorter, deadline).
          headersTimeoutMs: s.requestTimeoutMs ?? TUNABLE.requestTimeoutMs,
        });
  return new RunwareClient({
    transport,
    readTimeoutMs: ms(s.readTimeoutMs ?? TUNABLE.readTimeoutMs, 300),
    sendTimeoutMs: ms(s.requestTimeoutMs ?? TUNABLE.requestTimeoutMs, 1000),
    settleMs: ms(SETTLE_UNIT_MS, 20),
    rules: s.rules ?? new Rules(),
    logger: s.logger,
    maxConcurrency: s.maxConcurrency,
    ...(s.pollSchedule ? { pollSchedule: s.pollSchedule } : {}),
    ...(s.retry ? { retry: s.retry } : {}),
    ...(s.journal ? { journal: s.journal } : {}),
    ...(s.limiter ? { limiter: s.limiter } : {}),
    ...(s.logTasks ? { logTasks: true } : {}),
    ...(s.spend ? { spend: s.spend } : {}),
    ...(s.resendUnknown ? { resendUnknown: s.resendUnknown } : {}),
  });
}

export { RunwareClient } from './client.js';
