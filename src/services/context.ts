/**
 * What every front-end needs: the config, the logger, and lazily built
 * clients. Building lazily lets the server start and list tools with no key;
 * the tools then answer a clear error instead.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { MISSING_KEY_HINT, MISSING_KEY_HINT_CLI, type Config } from '../config.js';
import { RunwareClient, createRunwareClient } from '../runware/index.js';
import { scaledRetry } from '../runware/retry.js';
import { CATALOG_FLUSH_MS, POLL, RESERVATION_GRACE_MS } from '../runware/timing.js';
import { Rules } from '../runware/rules.js';
import { RunwayLookup } from '../runway/lookup.js';
import { ModelCatalog } from '../runware/schemas/catalog.js';
import { Journal } from '../state/journal.js';
import { SqliteState } from '../state/sqlite.js';
import type { RedisState } from '../state/redis.js';
import type { SharedSessions } from '../state/sessions.js';
import type { Limiter } from '../shared/limiter.js';
import { GlobalLimiter } from '../state/leases.js';
import type { Logger } from '../shared/log.js';
import { settledWithin } from '../shared/time.js';

/** Who reads the results (its setup hints differ); next steps are data that each front-end words itself. */
export type Frontend = 'mcp' | 'cli';

/** UUIDs kept in memory once the journal remembers all of them. */
const RECENT_UUIDS = 10_000;

export class AppContext {
  private runwareClient: RunwareClient | undefined;
  private runwayLookup: RunwayLookup | undefined;
  private modelCatalog: ModelCatalog | undefined;
  /**
   * The journal and spend ledger, shared by every process of the user. Opened
   * on first use; the simulator's tasks are kept apart from real ones.
   */
  readonly journal: Journal;
  /** One rules instance per process: the UUID registry must see every task. */
  readonly rules = new Rules();
  /** Default sizes per model, from model search. */
  readonly modelSizes = new Map<string, { width: number; height: number }>();

  /** The Redis shared with other instances, when RUNWARE_STATE_URL is set; connected on first use. */
  private redis: Promise<RedisState> | undefined;
  private globalLimiter: GlobalLimiter | undefined;

  constructor(
    readonly config: Config,
    readonly logger: Logger,
    /** Who reads the results: the missing-key hint names MCP settings, or CLI flags. */
    readonly frontend: Frontend = 'mcp',
  ) {
    const dir = config.simulate ? join(config.stateDir, 'simulator') : config.stateDir;
    const open = config.stateUrl ? () => this.shared()! : async () => SqliteState.open(dir);
    // Shared state is strict: with other instances relying on it, nothing goes out that it has not recorded.
    // A reservation's lease: the state lease, plus the longest settle window (scaled like the client's waits) as grace.
    const leaseMs = config.leaseMs + RESERVATION_GRACE_MS * (config.simulate ? config.simTimeScale : config.timeScale);
    this.journal = new Journal({
      open,
      logger: logger.child('state'),
      maxSpendUsd: config.maxSpendUsd,
      strict: config.stateUrl !== undefined,
      onOpen: () => this.rules.uuids.limit(RECENT_UUIDS),
      leaseMs,
    });
  }

  /** The shared Redis state, or undefined without RUNWARE_STATE_URL. The module loads only here. */
  shared(): Promise<RedisState> | undefined {
    const url = this.config.stateUrl;
    if (!url) return undefined;
    this.redis ??= (async () => {
      const { connectRedis, RedisState } = await import('../state/redis.js');
      // The simulator's tasks are kept apart from real ones, as on disk.
      return new RedisState(
        await connectRedis(url, this.logger.child('state')),
        url,
        this.config.simulate ? 'runware-sim' : 'runware',
      );
    })();
    this.redis.catch(() => (this.redis = undefined));
    return this.redis;
  }

  /** HTTP sessions and their events shared with other instances (in the shared Redis), or undefined without RUNWARE_STATE_URL. */
  sharedSessions(): Promise<SharedSessions> | undefined {
    return this.shared()?.then(
      async (state) => new (await import('../state/redis-sessions.js')).RedisSessionStore(state),
    );
  }

  /** With shared state, RUNWARE_MAX_CONCURRENCY counts across instances, per API key. */
  private limiter(): Limiter | undefined {
    if (!this.config.stateUrl) return undefined;
    this.globalLimiter ??= new GlobalLimiter({
      capacity: this.config.runware.maxConcurrency,
      state: () => this.shared()!,
      keyId: createHash('sha256')
        .update(`runware-mcp-server:${this.config.runware.apiKey ?? ''}`)
        .digest('hex')
        .slice(0, 16),
      leaseMs: this.config.leaseMs,
      logger: this.logger.child('leases'),
    });
    return this.globalLimiter;
  }

  get userAgent(): string {
    return `runware-mcp-server/${this.config.version} node/${process.versions.node}`;
  }

  /** The Runware client; throws ConfigError (with setup instructions) when no key is set. */
  runware(): RunwareClient {
    if (!this.runwareClient) {
      const c = this.config;
      const scale = c.simulate ? c.simTimeScale : c.timeScale;
      this.runwareClient = createRunwareClient({
        apiKey: c.runware.apiKey,
        apiUrl: c.runware.apiUrl,
        wsUrl: c.runware.wsUrl,
        transport: c.runware.transport,
        maxConcurrency: c.runware.maxConcurrency,
        resendUnknown: c.runware.resendUnknown,
        userAgent: this.userAgent,
        logger: this.logger,
        missingKeyHint: this.frontend === 'cli' ? MISSING_KEY_HINT_CLI : MISSING_KEY_HINT,
        rules: this.rules,
        journal: this.journal,
        ...(c.stateUrl ? { limiter: this.limiter()! } : {}),
        logTasks: c.http.enabled,
        spend: {
          ceilings: c.priceCeilings,
          dryRun: true,
          ...(c.confirmAboveUsd !== undefined ? { confirmAboveUsd: c.confirmAboveUsd } : {}),
          pricing: async (air) => {
            const cat = this.catalog();
            return (await cat.pricing(air, (await cat.registryEntry(air)).slug))?.examples;
          },
        },
        pollSchedule: { minMs: POLL.minMs * scale, fraction: POLL.fraction, maxMs: c.timing.pollMaxMs * scale },
        readTimeoutMs: c.timing.readTimeoutMs,
        requestTimeoutMs: c.timing.requestTimeoutMs,
        timeScale: scale,
        retry: scaledRetry(c.timing.retry, scale),
      });
    }
    return this.runwareClient;
  }

  /** Runware's public schema, registry and content services (no key needed), cached in memory and on disk. */
  catalog(): ModelCatalog {
    this.modelCatalog ??= new ModelCatalog({
      schemasUrl: this.config.catalog.schemasUrl,
      contentUrl: this.config.catalog.contentUrl,
      // The in-process simulator's schemas are not worth keeping on disk.
      ...(this.config.simulate ? {} : { cacheDir: join(this.config.cacheDir, 'catalog') }),
      userAgent: this.userAgent,
      logger: this.logger.child('catalog'),
    });
    return this.modelCatalog;
  }

  runway(): RunwayLookup {
    if (!this.runwayLookup) {
      const r = this.config.runway;
      this.runwayLookup = new RunwayLookup({
        official: r.official,
        useapi: r.useapi,
        makevid: r.makevid,
        userAgent: this.userAgent,
        logger: this.logger,
        timeScale: this.config.simulate ? this.config.simTimeScale : 1,
        retry: scaledRetry(this.config.timing.retry, this.config.simulate ? this.config.simTimeScale : 1),
      });
    }
    return this.runwayLookup;
  }

  async close(): Promise<void> {
    this.globalLimiter?.close();
    // A one-shot command keeps the catalogue copies it fetched for the next run, if the disk is quick about it.
    if (this.modelCatalog) await settledWithin(this.modelCatalog.whenWritten(), CATALOG_FLUSH_MS);
    // The journal closes the shared Redis connection when it holds it.
    await this.journal.close();
    await this.runwareClient?.close();
    await this.runwayLookup?.close();
  }
}
