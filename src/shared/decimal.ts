/**
 * A plain decimal (`5`, `0.5`, `-1`), nothing else: Number() would also take `0x10`, `1e3`,
 * `0b1`, `Infinity` and surrounding spaces, which are typos more often than intent. One rule
 * for environment variables (config.ts) and command-line flags (commands/args.ts).
 */
export const DECIMAL = /^-?(?:\d+(?:\.\d*)?|\.\d+)$/;

/** The number a plain decimal says; NaN for anything else. */
export const decimal = (v: string): number => (DECIMAL.test(v) ? Number(v) : NaN);
