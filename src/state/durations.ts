/**
 * Learned run times, per model: what the delivery choice and the first poll
 * aim at (src/runware/delivery.ts). Kept in the state store, so every process
 * learns from every other; read through a short-lived cache, so the call path
 * pays for a store read at most once in a while. Never a gate: a store that
 * cannot answer means "not learned yet".
 */
import { DURATION_WEIGHT, saneDuration, type StateStore } from './types.js';

/** How long a read is trusted before the store is asked again (another process may have learned since). */
const FRESH_MS = 30_000;
/** Keys kept in memory; models in use are few. */
const KEEP = 500;
export class Durations {
  private readonly cache = new Map<string, { ms: number | undefined; n: number; at: number }>();

  constructor(private readonly store: () => Promise<StateStore>) {}

  /** The typical run time of `key` in ms, or undefined when nothing is learned yet. */
  async typical(key: string): Promise<number | undefined> {
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < FRESH_MS) return hit.ms;
    let ms: number | undefined;
    try {
      const st = await this.store();
      ms = saneDuration(await st.typicalDuration?.(key));
    } catch {
      ms = hit?.ms;
    }
    this.put(key, ms, hit?.n ?? 0);
    return ms;
  }

  /** Folds an observed run time in, here at once and in the store behind the call. */
  learn(key: string, ms: number): void {
    if (saneDuration(ms) === undefined) return;
    const hit = this.cache.get(key);
    const n = hit?.ms !== undefined ? Math.max(1, hit.n) : 0;
    this.put(key, hit?.ms !== undefined ? hit.ms + (ms - hit.ms) * Math.max(DURATION_WEIGHT, 1 / (n + 1)) : ms, n + 1);
    void this.store()
      .then((st) => st.learnDuration?.(key, ms))
      .catch(() => undefined);
  }

  private put(key: string, ms: number | undefined, n: number): void {
    this.cache.delete(key);
    this.cache.set(key, { ms, n, at: Date.now() });
    if (this.cache.size > KEEP) this.cache.delete(this.cache.keys().next().value as string);
  }
}
