import type { AppContext } from '../services/context.js';
import { MODEL_SEARCH_LIMITS as L, modelSearch } from '../services/model-search.js';
import { bounded, parse, str } from './args.js';
import { EXIT_OK, UsageError, printJson } from './output.js';

export const usage = `Usage: runware-mcp-server model-search --search TEXT [--limit N] [--offset N]
         [--category checkpoint|lora|lycoris|controlnet|vae|embeddings] [--architecture A] [--type T] [--tag TAG ...]

Searches Runware's model catalogue (one modelSearch task) and prints compact results.`;

export async function run(ctx: AppContext, args: string[]): Promise<number> {
  const { values } = parse(args, {
    search: { type: 'string' }, limit: { type: 'string' }, offset: { type: 'string' }, category: { type: 'string' },
    architecture: { type: 'string' }, type: { type: 'string' }, tag: { type: 'string', multiple: true },
  });
  const search = str(values, 'search');
  if (search === undefined) throw new UsageError('model-search needs --search TEXT');
  const limit = bounded(values, 'limit', L.limit);
  const offset = bounded(values, 'offset', L.offset);
  const out = await modelSearch(ctx, {
    search,
    ...(limit !== undefined ? { limit } : {}),
    ...(offset !== undefined ? { offset } : {}),
    ...(str(values, 'category') ? { category: str(values, 'category')! } : {}),
    ...(str(values, 'architecture') ? { architecture: str(values, 'architecture')! } : {}),
    ...(str(values, 'type') ? { type: str(values, 'type')! } : {}),
    ...(Array.isArray(values.tag) ? { tags: values.tag } : {}),
  });
  printJson(out);
  return EXIT_OK;
}
