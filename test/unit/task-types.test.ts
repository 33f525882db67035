/**
 * A new task type is one row: the table (src/runware/task-types.ts) holds every
 * fact about a task type, no other module lists task type names, each row is
 * whole and consistent, and where the simulator (an independent implementation
 * of the reference) behaves by task type, the table agrees with it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rules } from '../../src/runware/rules.js';
import {
  callerRunnableTypes,
  CARRIES,
  defaultDelivery,
  GENERIC_WORK_TYPE,
  taskTypeFromCapabilities,
  firstPollMinSteps,
  isBillable,
  isKept,
  isLongType,
  isReadType,
  KNOWN_TASK_TYPES,
  resultCount,
  TASK_TYPES,
  type TaskTypeRow,
} from '../../src/runware/task-types.js';
import { carriesOutput, expectedResults } from '../../src/runware/verdicts.js';
import { Simulator } from '../../src/simulator/server.js';
import { ROOT } from '../helpers.js';

type Item = Record<string, unknown>;

// ---- No list of task type names outside the table. ----

/**
 * Modules allowed to name several task types: the table itself; the simulator,
 * an independent implementation that may not import the client (lint rule 3);
 * the studio's browser app, bundled alone, whose buttons each name the type they run.
 */
const EXEMPT = [/^runware\/task-types\.ts$/, /^simulator\//, /^ui\//];

const NAMES = new Set<string>(KNOWN_TASK_TYPES);

/** Lines (1-based) of `text` where two or more task type names sit together: an array, a set, a union, a record's keys. */
function taskTypeLists(text: string): number[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const lines = code.split('\n');
  const namesOn = (line: string): Set<string> => {
    const found = new Set<string>();
    for (const m of line.matchAll(/'([A-Za-z0-9]+)'|"([A-Za-z0-9]+)"|(?:^|[{,\s])([A-Za-z0-9]+)\s*:/g)) {
      const n = m[1] ?? m[2] ?? m[3];
      if (n && NAMES.has(n)) found.add(n);
    }
    return found;
  };
  const hits: number[] = [];
  // A list spread over lines: consecutive lines holding only literals and commas count as one.
  const onlyLiterals = (l: string): boolean => /^\s*(['"][A-Za-z0-9]+['"]\s*,?\s*)+$/.test(l);
  for (let i = 0; i < lines.length; i++) {
    const names = namesOn(lines[i]!);
    let j = i;
    while (onlyLiterals(lines[j]!) && j + 1 < lines.length && onlyLiterals(lines[j + 1]!))
      for (const n of namesOn(lines[++j]!)) names.add(n);
    if (names.size >= 2) hits.push(i + 1);
    i = j;
  }
  return hits;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('task type names live in the table only', () => {
  it('the detector finds a list in any of its forms, and not a single name', () => {
    expect(taskTypeLists(`const LONG = new Set(['videoInference', 'audioInference']);`)).toEqual([1]);
    expect(taskTypeLists(`const FIRST = { videoInference: 10, '3dInference': 10 };`)).toEqual([1]);
    expect(taskTypeLists(`function read(t: 'getResponse' | "getTaskDetails") {}`)).toEqual([1]);
    expect(taskTypeLists(`export const KNOWN = [\n  'imageInference',\n  'upscale',\n];`)).toEqual([2]);
    expect(taskTypeLists(`const t = { taskType: 'imageInference', prompt: 'upscale' };`)).toEqual([1]);
    expect(
      taskTypeLists(
        `const t = { taskType: 'imageInference' };\n// 'upscale' and 'caption' in a comment\n/* 'ping', 'training' */`,
      ),
    ).toEqual([]);
    expect(taskTypeLists(`if (t === 'promptEnhance') return 1;`)).toEqual([]);
  });

  it('no module of src/ but the table lists task type names (a new task type is one row)', () => {
    const src = join(ROOT, 'src');
    const found: string[] = [];
    for (const file of tsFiles(src)) {
      const rel = relative(src, file);
      if (EXEMPT.some((re) => re.test(rel))) continue;
      for (const line of taskTypeLists(readFileSync(file, 'utf8'))) found.push(`src/${rel}:${line}`);
    }
    expect(found, 'task type facts belong in a row of src/runware/task-types.ts').toEqual([]);
  });
});

// ---- Every row is whole and consistent. ----

/** Every fact a row states; a row missing one does not compile, and this catches a cast. */
const FACTS: Array<keyof TaskTypeRow> = [
  'billing',
  'price',
  'kept',
  'counts',
  'delivery',
  'long',
  'firstPollMinSteps',
  'output',
  'sameAs',
  'schema',
  'callerMayRun',
  'capability',
  'modality',
];

describe('the task type table', () => {
  it('has a row, with every fact, for each task type the API knows, and the rules accept each', () => {
    // The reference's names (runware-api.md, "Names"), less the authentication task the rules refuse.
    const reference = [
      'imageInference',
      'videoInference',
      'audioInference',
      'textInference',
      '3dInference',
      'photoMaker',
      'upscale',
      'imageUpscale',
      'removeBackground',
      'imageBackgroundRemoval',
      'caption',
      'imageCaption',
      'controlNetPreprocess',
      'imageControlNetPreProcess',
      'imageMasking',
      'vectorize',
      'promptEnhance',
      'imageUpload',
      'mediaStorage',
      'modelSearch',
      'modelUpload',
      'accountManagement',
      'getResponse',
      'getTaskDetails',
      'training',
      'ping',
    ];
    expect([...KNOWN_TASK_TYPES].sort()).toEqual([...reference].sort());
    const rules = new Rules();
    for (const t of KNOWN_TASK_TYPES) {
      const row = TASK_TYPES[t]!;
      for (const f of FACTS) expect(f in row, `${t}.${f}`).toBe(true);
      const task = isReadType(t)
        ? { taskType: t, taskUUID: '6f0e2bd3-1f4c-4c55-9a4e-0b7d2a9c1e5f' }
        : t === 'imageInference'
          ? { taskType: t, positivePrompt: 'a', model: 'runware:101@1' }
          : { taskType: t };
      expect(() => rules.inspect(task), t).not.toThrow();
    }
    expect(() => rules.inspect({ taskType: 'notATaskType' })).toThrow(/unknown task type/);
  });

  it('keeps its facts consistent: aliases, long work, prices, reads', () => {
    const orders: number[] = [];
    for (const t of KNOWN_TASK_TYPES) {
      const row = TASK_TYPES[t]!;
      expect(row.billing === 'billable', `${t}: a price exactly when billed`).toBe(row.price !== null);
      expect(isBillable(t)).toBe(row.billing === 'billable');
      // Long work waits before its first poll; the rest polls at once.
      expect(isLongType(t), t).toBe(firstPollMinSteps(t) > 1);
      if (row.billing === 'read') expect([row.kept, row.callerMayRun, row.delivery], t).toEqual([false, false, 'none']);
      if (row.billing === 'billable') expect(isKept(t), `${t}: billed work is journaled`).toBe(true);
      if (row.price?.dims.includes('seconds')) expect(row.price.referenceSeconds, t).toBeGreaterThan(0);
      if (row.capability) orders.push(row.capability.order);
      if (row.sameAs !== null) {
        // A legacy name is the same task under another name: every fact but its name and catalogue entry agrees.
        const current = TASK_TYPES[row.sameAs]!;
        expect(current.sameAs, t).toBeNull();
        const { sameAs: _a, capability: _c, modality: _m, ...mine } = row;
        const { sameAs: _b, capability: _d, modality: _n, ...theirs } = current;
        expect(mine, `${t} is ${row.sameAs}`).toEqual(theirs);
      }
    }
    expect(new Set(orders).size, 'capability orders are distinct').toBe(orders.length);
    expect(isBillable('authentication')).toBe(false);
    expect(isBillable('someFutureType')).toBe(true);
    expect(isKept('mediaStorage')).toBe(true);
    // The legacy upload name is journaled like mediaStorage: its image UUID is as worth finding again.
    expect(isKept('imageUpload')).toBe(true);
  });
});

// ---- One result count, its edge cases kept. ----

describe('resultCount: the one count of results', () => {
  it('is what the verdicts expect', () => {
    expect(expectedResults).toBe(resultCount);
  });

  it('counts the row field when positive, else 1', () => {
    const uuid = '6f0e2bd3-1f4c-4c55-9a4e-0b7d2a9c1e5f';
    const count = (t: Item & { taskType: string }): number => resultCount({ taskUUID: uuid, ...t });
    expect(count({ taskType: 'imageInference', numberResults: 3 })).toBe(3);
    expect(count({ taskType: 'imageInference' })).toBe(1);
    for (const bad of [0, -2, '3', null, Number.NaN, Number.POSITIVE_INFINITY])
      expect(count({ taskType: 'videoInference', numberResults: bad })).toBe(1);
    expect(count({ taskType: 'promptEnhance', promptVersions: 4 })).toBe(4);
    // promptEnhance counts promptVersions only: numberResults is not its count (Runware's default is one version).
    expect(count({ taskType: 'promptEnhance', numberResults: 3 })).toBe(1);
    // No versions is not zero results to wait for: it is Runware's default, one.
    expect(count({ taskType: 'promptEnhance', promptVersions: 0 })).toBe(1);
    expect(count({ taskType: 'someFutureType', numberResults: 2 })).toBe(2);
  });
});

// ---- The table agrees with the simulator where they overlap. ----

/** A task the simulator accepts for each type it implements (no model: its catalogue check is its own). */
const SIM_TASKS: Record<string, Item> = {
  imageInference: { model: 'runware:101@1', positivePrompt: 'a lighthouse', width: 512, height: 512 },
  videoInference: { positivePrompt: 'waves' },
  audioInference: { positivePrompt: 'rain' },
  '3dInference': { inputs: { images: ['https://example.com/a.png'] } },
  upscale: { inputImage: 'https://example.com/a.png' },
  imageUpscale: { inputImage: 'https://example.com/a.png' },
  removeBackground: { inputImage: 'https://example.com/a.png' },
  imageBackgroundRemoval: { inputImage: 'https://example.com/a.png' },
  caption: { inputImage: 'https://example.com/a.png' },
  imageCaption: { inputImage: 'https://example.com/a.png' },
  promptEnhance: { prompt: 'a cat' },
  mediaStorage: { operation: 'upload', media: 'aGVsbG8=' },
  imageUpload: { image: 'aGVsbG8=' },
  modelSearch: { search: 'flux' },
  accountManagement: { operation: 'getDetails' },
};
/** Types whose simulated results follow their count field (the others make one result, whatever is asked). */
const COUNTED: Record<string, number> = { imageInference: 4, videoInference: 4, audioInference: 3, promptEnhance: 5 };

describe('the table agrees with the simulator', () => {
  const sim = new Simulator({ timeScale: 0.002 });
  const uuid = (): string => crypto.randomUUID();
  const send = (task: Item): Promise<{ data: Item[]; errors: Array<{ code: string }> }> =>
    sim.runware.handle([task], undefined);
  /** The results of an async task, once getResponse has all of them. */
  async function asyncResults(taskUUID: string, want: number): Promise<Item[]> {
    for (let i = 0; i < 200; i++) {
      const r = await send({ taskType: 'getResponse', taskUUID });
      const done = r.data.filter((d) => d.status === 'success');
      if (done.length >= want && done.length === r.data.length) return done;
      await new Promise((res) => setTimeout(res, 5));
    }
    throw new Error(`no results for ${taskUUID}`);
  }

  it('on sync or async delivery, the result count, and what a result carries', async () => {
    for (const [t, base] of Object.entries(SIM_TASKS)) {
      const row = TASK_TYPES[t]!;
      const allowed = defaultDelivery(t);
      // A type that takes no deliveryMethod answers on the request.
      const modes: Array<'sync' | 'async' | undefined> = allowed ?? [undefined];
      for (const mode of ['sync', 'async'] as const) {
        if (!allowed || allowed.includes(mode)) continue;
        const r = await send({ ...base, taskType: t, taskUUID: uuid(), deliveryMethod: mode });
        expect(
          r.errors.map((e) => e.code),
          `${t} refuses ${mode}`,
        ).toEqual(['invalidDeliveryMethod']);
      }
      for (const mode of modes) {
        const task = { ...base, taskType: t, taskUUID: uuid(), ...(mode ? { deliveryMethod: mode } : {}) };
        const r = await send(task);
        expect(r.errors, `${t} ${mode ?? 'no deliveryMethod'}`).toEqual([]);
        const results = mode === 'async' ? await asyncResults(task.taskUUID, resultCount(task)) : r.data;
        expect(results.length, `${t} ${mode ?? ''}: results`).toBe(resultCount(task));
        for (const item of results) {
          expect(carriesOutput(item, t), `${t}: its result carries its output`).toBe(true);
          if (row.output !== 'any') expect(CARRIES[row.output](item), `${t}: ${row.output}`).toBe(true);
        }
      }
    }
  });

  it('on the result count of every count a task may ask for', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(COUNTED)), fc.integer({ min: 1, max: 5 }), async (t, n) => {
        fc.pre(n <= COUNTED[t]!);
        const row = TASK_TYPES[t]!;
        const mode = defaultDelivery(t)?.includes('sync') ? 'sync' : 'async';
        const task = { ...SIM_TASKS[t], taskType: t, taskUUID: uuid(), deliveryMethod: mode, [row.counts]: n };
        const r = await send(task);
        expect(r.errors).toEqual([]);
        const results = mode === 'async' ? await asyncResults(task.taskUUID, n) : r.data;
        expect(results.length).toBe(resultCount(task));
        expect(resultCount(task)).toBe(n);
      }),
      { numRuns: 25 },
    );
  });
});

describe('lookups the services make', () => {
  it('a caller may name any type but the reads and ping; the precheck type is checked generically', () => {
    expect(callerRunnableTypes()).toEqual(
      KNOWN_TASK_TYPES.filter((t) => !['getResponse', 'getTaskDetails', 'ping'].includes(t)),
    );
    expect(TASK_TYPES[GENERIC_WORK_TYPE]!.schema).toBeNull();
    expect(TASK_TYPES[GENERIC_WORK_TYPE]!.billing).toBe('billable');
  });

  it('the catalogues name task types by capability, then by modality', () => {
    expect(taskTypeFromCapabilities(['io:image-to-image', 'op:upscale'])).toBe('upscale');
    expect(taskTypeFromCapabilities(['io:text-to-image'], ['video'])).toBe('imageInference');
    expect(taskTypeFromCapabilities(['io:unknown'], ['audio'])).toBe('audioInference');
  });
});
