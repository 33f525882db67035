import { resolve } from 'node:path';
import type { AppContext } from '../services/context.js';

/**
 * Where the CLI may read local inputs: the current directory (relative paths
 * resolve there), the --out directory, and RUNWARE_OUTPUT_DIR.
 */
export function readRoots(ctx: AppContext, out?: string): string[] {
  return [
    ...new Set([
      process.cwd(),
      ...(out ? [resolve(out)] : []),
      ...(ctx.config.outputDir ? [ctx.config.outputDir] : []),
    ]),
  ];
}
