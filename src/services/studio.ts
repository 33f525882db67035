/**
 * What both studio front-ends use: the page itself (one HTML file built at
 * build time, read on first request, never at start-up), the origins it may
 * load media from, and the one reader every output the local page serves goes
 * through.
 */
import { readFile } from 'node:fs/promises';
import { RUNWARE_MEDIA_ORIGINS } from '../shared/media-hosts.js';
import { ConfigError, isAppError, ValidationError } from '../shared/errors.js';
import { scrubber } from '../shared/redact.js';
import { plainWords, renderNexts, say, stepsOf, type StepWords } from '../shared/next-step.js';
import { account } from './account.js';
import type { AppContext } from './context.js';
import { modelSearch, type ModelSearchInput } from './model-search.js';
import { pollTask, type PollInput } from './poll.js';
import { runModel, type RunInput } from './run.js';
import { getTask, listTasks, readSavedOutput, type SavedOutput, type TasksInput } from './tasks.js';
import { textToImage, type TextToImageInput } from './text-to-image.js';

export { RUNWARE_MEDIA_ORIGINS };

type Json = Record<string, unknown>;

/** From the bundle (dist/) or from the sources (src/services, dist/services): the built page. */
const CANDIDATES = ['./studio.html', '../../dist/studio.html'];

let page: Promise<string> | undefined;

/** The studio page, read once. A missing file (no build yet) is a ConfigError saying so. */
export function studioHtml(): Promise<string> {
  page ??= (async () => {
    for (const c of CANDIDATES) {
      const text = await readFile(new URL(c, import.meta.url), 'utf8').catch(() => undefined);
      if (text) return text;
    }
    throw new ConfigError(
      'the studio page (dist/studio.html) is missing',
      'Run `npm run build`: the page is built with the server.',
    );
  })();
  page.catch(() => (page = undefined));
  return page;
}

/**
 * One recorded output's bytes for the studio: only files the journal says
 * this server saved, by task and index, never a path from the page; read with
 * the hardened reader the output resources use (one open, no symlinks, a
 * regular file inside `roots` by its descriptor, bounded in size and time,
 * refused if it holds a secret). Every output the local page serves is read
 * here.
 */
export async function readStudioOutput(
  ctx: AppContext,
  taskUUID: string,
  index: number,
  roots: readonly string[],
  opts: { signal?: AbortSignal } = {},
): Promise<SavedOutput & { data: Buffer }> {
  return readSavedOutput(ctx, taskUUID, index, roots, opts);
}

/** One task's journal record, scrubbed, as the page shows it when a journal row is opened. */
export async function studioTask(ctx: AppContext, taskUUID: string): Promise<Json> {
  return scrubber.value(await getTask(ctx, taskUUID)) as unknown as Json;
}

type Kind = 'string' | 'number' | 'boolean' | 'object';

/** What the local page may call, with each argument's type: the tools' names, the same services behind them. */
const CALLS: Record<string, { args: Record<string, Kind>; required?: string[] }> = {
  runware_text_to_image: {
    args: {
      prompt: 'string',
      negativePrompt: 'string',
      model: 'string',
      width: 'number',
      height: 'number',
      steps: 'number',
      CFGScale: 'number',
      scheduler: 'string',
      seed: 'number',
      numberResults: 'number',
      outputFormat: 'string',
      includeCost: 'boolean',
      extra: 'object',
      waitSeconds: 'number',
      saveTo: 'string',
      confirmCostUsd: 'number',
    },
    required: ['prompt'],
  },
  runware_run: {
    args: { model: 'string', params: 'object', waitSeconds: 'number', saveTo: 'string', confirmCostUsd: 'number' },
    required: ['model'],
  },
  runware_poll: {
    args: { taskUUID: 'string', waitSeconds: 'number', numberResults: 'number', saveTo: 'string' },
    required: ['taskUUID'],
  },
  runware_tasks: { args: { status: 'string', since: 'string', model: 'string', limit: 'number' } },
  runware_account: { args: {} },
  runware_model_search: {
    args: {
      search: 'string',
      category: 'string',
      architecture: 'string',
      type: 'string',
      limit: 'number',
      offset: 'number',
      capability: 'string',
    },
  },
};
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_WAIT_SECONDS = 300;

function hasPrototypeKey(v: unknown, depth = 0): boolean {
  if (depth > 32 || !v || typeof v !== 'object') return false;
  return Object.keys(v).some((k) => PROTOTYPE_KEYS.has(k) || hasPrototypeKey((v as Json)[k], depth + 1));
}

/** Arguments checked against the call's list: unknown names, wrong types and prototype keys are refused, naming the field. */
function checkArgs(name: string, args: unknown): Json {
  const spec = CALLS[name];
  if (!spec)
    throw new ValidationError(
      'name',
      `"${name.slice(0, 60)}" is not something the studio calls`,
      Object.keys(CALLS).join(', '),
    );
  if (args === undefined) args = {};
  if (!args || typeof args !== 'object' || Array.isArray(args))
    throw new ValidationError('arguments', 'must be an object');
  if (hasPrototypeKey(args))
    throw new ValidationError('arguments', 'must not hold __proto__, constructor or prototype keys');
  const a = args as Json;
  for (const [k, v] of Object.entries(a)) {
    const want = spec.args[k];
    if (!want)
      throw new ValidationError(k, `is not an argument of ${name}`, Object.keys(spec.args).join(', ') || 'none');
    const got = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
    if (got !== want || (want === 'number' && !Number.isFinite(v))) throw new ValidationError(k, `must be a ${want}`);
  }
  for (const k of spec.required ?? []) if (a[k] === undefined) throw new ValidationError(k, 'is required');
  if (typeof a.waitSeconds === 'number' && (a.waitSeconds < 0 || a.waitSeconds > MAX_WAIT_SECONDS))
    throw new ValidationError('waitSeconds', `must be from 0 to ${MAX_WAIT_SECONDS}`);
  return a;
}

/** A tool-shaped answer: structuredContent (scrubbed), and isError with a structured error as the MCP tools give it. */
export interface StudioAnswer {
  isError?: boolean;
  structuredContent: Json;
}

/** An error for the page; `words` names its next step (the front-end that serves the page says how). */
export function studioError(e: unknown, words: StepWords = plainWords): StudioAnswer {
  const error: Json = isAppError(e)
    ? (() => {
        const { hint: _plain, ...j } = e.toJSON() as Json;
        const hint = say(e.hint, words);
        return {
          ...j,
          ...(hint ? { next: hint } : {}),
          ...(stepsOf(e.hint).length ? { nextSteps: stepsOf(e.hint) } : {}),
        };
      })()
    : {
        kind: 'internal',
        message: e instanceof Error ? e.message : String(e),
        next: 'This is a bug in runware-mcp-server; please report it.',
      };
  return { isError: true, structuredContent: scrubber.value({ error }) as Json };
}

/**
 * One call from the local page, to the services the MCP tools use: the same
 * rules, quotes and spend cap. Nothing is previewed inline (the page shows
 * the saved files).
 */
export async function studioCall(
  ctx: AppContext,
  name: string,
  rawArgs: unknown,
  opts: { roots: string[]; signal?: AbortSignal; words?: StepWords },
): Promise<StudioAnswer> {
  try {
    const args = checkArgs(name, rawArgs);
    const media = { roots: opts.roots, previewMaxBytes: 0, ...(opts.signal ? { signal: opts.signal } : {}) };
    let out: { status?: unknown } & object;
    switch (name) {
      case 'runware_text_to_image':
        out = (await textToImage(ctx, args as unknown as TextToImageInput, media)).output;
        break;
      case 'runware_run':
        out = (await runModel(ctx, args as unknown as RunInput, media)).output;
        break;
      case 'runware_poll':
        out = (await pollTask(ctx, args as unknown as PollInput, media)).output;
        break;
      case 'runware_tasks':
        out = await listTasks(ctx, args as TasksInput);
        break;
      case 'runware_account':
        out = await account(ctx, opts.signal);
        break;
      default:
        out = await modelSearch(ctx, args as ModelSearchInput, opts.signal);
    }
    return {
      ...(out.status === 'error' ? { isError: true } : {}),
      structuredContent: scrubber.value(renderNexts(out, opts.words ?? plainWords)) as Json,
    };
  } catch (e) {
    return studioError(e, opts.words);
  }
}
