/**
 * Every client timeout, poll and retry number, and every wait or lookup budget of
 * the core and services, in one place to read.
 *
 * TUNABLE holds the defaults of what a user may set (src/config.ts reads the
 * RUNWARE_RETRY_* / RUNWARE_*_TIMEOUT_SECONDS / RUNWARE_POLL_MAX_SECONDS variables
 * with these as defaults, and the README lists them); the rest are fixed here,
 * because changing them would break a guarantee or an upstream expectation rather
 * than suit a network. All values are milliseconds unless the name says otherwise.
 */

/** Defaults of the settings src/config.ts reads from the environment. */
export const TUNABLE = {
  /** Total attempts of a retried request, the first included (RUNWARE_RETRY_ATTEMPTS). */
  retryAttempts: 4,
  /** Backoff before the first retry, doubling after (full jitter) (RUNWARE_RETRY_BASE_SECONDS). */
  retryBaseMs: 500,
  /** Longest backoff between two attempts (RUNWARE_RETRY_MAX_DELAY_SECONDS). */
  retryMaxDelayMs: 8000,
  /** No retry starts this long after the first attempt (RUNWARE_RETRY_BUDGET_SECONDS). */
  retryBudgetMs: 60_000,
  /** A read (getTaskDetails, getResponse, a dry run) waits this long for its answer (RUNWARE_READ_TIMEOUT_SECONDS). */
  readTimeoutMs: 10_000,
  /** A sent task waits this long for its answer before its fate counts as unknown (RUNWARE_REQUEST_TIMEOUT_SECONDS). */
  requestTimeoutMs: 150_000,
  /** Polls of a long task are never further apart than this (RUNWARE_POLL_MAX_SECONDS). */
  pollMaxMs: 60_000,
  /** One output download may take at most this long (RUNWARE_DOWNLOAD_TIMEOUT_SECONDS). */
  downloadTimeoutMs: 60_000,
} as const;

/** The poll schedule's fixed parts: the first poll's floor and the share of a task's age waited between polls. */
export const POLL = { minMs: 500, fraction: 0.1 } as const;

/** Runware's WebSocket: authentication, heartbeat and the grace for a replayed answer after a reconnect. */
export const WS = { authTimeoutMs: 15_000, pingIntervalMs: 5000, pongTimeoutMs: 5000, replayGraceMs: 1500 } as const;

/** Runware's REST agent: connect, keep-alive and body timeouts (headers wait as long as a request may). */
export const REST = {
  connectTimeoutMs: 10_000,
  keepAliveMs: 30_000,
  keepAliveMaxMs: 120_000,
  bodyTimeoutMs: 60_000,
  /**
   * The largest answer read (a sync answer carrying base64 images of a big batch stays well under it): past
   * it the rest is not read, so a hostile or broken upstream cannot fill the memory, and the tasks' fate is
   * unknown (the request was sent), which the landing check settles.
   */
  maxReplyBytes: 256 * 1024 * 1024,
} as const;

/** The unit of the settle window (checks across 8 units, at most 30): the lag getTaskDetails is allowed. */
export const SETTLE_UNIT_MS = 1000;
/** A reservation outlives its sender's lease by the longest settle window (30 units). */
export const RESERVATION_GRACE_MS = 30 * SETTLE_UNIT_MS;

/** Runway providers: the HTTP agent, the grace past a wait for the last answer, and the pace when a provider gives none. */
export const RUNWAY = {
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 30_000,
  bodyTimeoutMs: 30_000,
  keepAliveMs: 30_000,
  answerGraceMs: 30_000,
  defaultPollSeconds: 10,
} as const;

/** Budgets of the services' own calls, each bounded by the caller's wait where there is one. */
export const BUDGETS = {
  /** With waitSeconds 0: the submit (and its recovery) before the taskUUID comes back. */
  submitOnlyMs: 15_000,
  /** Model facts (schema, registry, pricing) before a task is checked. */
  modelLookupMs: 6000,
  /** A model's default size, from model search. */
  sizeLookupMs: 5000,
  /** The account's details. */
  accountMs: 15_000,
  /** One upload of a local input, when the caller gives no deadline. */
  uploadMs: 60_000,
  /** Downloads: at least this long, and this much past the caller's wait. */
  downloadFloorMs: 3000,
  downloadMarginMs: 5000,
} as const;

/** Files: reading a local input or a saved output, writing an output; a download's headers and its longest silence mid-body. */
export const FILES = {
  localReadMs: 30_000,
  outputReadMs: 10_000,
  writeMs: 60_000,
  downloadHeadersMs: 30_000,
  downloadIdleMs: 30_000,
} as const;

/** Runware's public schema, registry and content services. */
export const CATALOG_FETCH_MS = 5000;
/** How long a closing context waits for the catalogue's disk copies (written beside the calls) to land. */
export const CATALOG_FLUSH_MS = 2000;
