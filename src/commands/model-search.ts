import type { AppContext } from '../services/context.js';
import { MODEL_SEARCH_LIMITS as L, modelSearch } from '../services/model-search.js';
import { bounded, parse, str } from './args.js';
import { EXIT_OK, UsageError, printJson } from './output.js';
import { UpstreamError } from '../shared/errors.js';

export const usage = `Usage: runware-mcp-server model-search [--search TEXT] [--capability ID] [--limit N] [--offset N]
         [--category checkpoint|lora|lycoris|controlnet|vae|embeddings] [--architecture A] [--type T] [--tag TAG ...]
       runware-mcp-server model-search --capabilities

Searches both of Runware's catalogues: the curated models (video, audio, 3D,
upscaling, editing; no key needed) and the community one (checkpoints, LoRAs;
one modelSearch task). --capability takes an id such as io:image-to-video, or
image-to-video, upscale, text-to-speech; --capabilities lists them. Each hit
says its capabilities, taskType, price and whether a live schema validates it;
model-info describes any of them.`;

export async function run(ctx: AppContext, args: string[]): Promise<number> {
  const { values } = parse(args, {
    search: { type: 'string' },
    limit: { type: 'string' },
    offset: { type: 'string' },
    category: { type: 'string' },
    architecture: { type: 'string' },
    type: { type: 'string' },
    tag: { type: 'string', multiple: true },
    capability: { type: 'string' },
    capabilities: { type: 'boolean' },
  });
  if (values.capabilities === true) {
    const caps = await ctx.catalog().capabilities();
    if (!caps)
      throw new UpstreamError("Runware's content service could not be reached for the capability list", {
        category: 'connection',
        retryable: true,
      });
    printJson({ capabilities: caps });
    return EXIT_OK;
  }
  const search = str(values, 'search');
  const capability = str(values, 'capability');
  if (search === undefined && capability === undefined)
    throw new UsageError('model-search needs --search TEXT or --capability ID (--capabilities lists them)');
  const limit = bounded(values, 'limit', L.limit);
  const offset = bounded(values, 'offset', L.offset);
  const out = await modelSearch(ctx, {
    ...(search !== undefined ? { search } : {}),
    ...(capability !== undefined ? { capability } : {}),
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
