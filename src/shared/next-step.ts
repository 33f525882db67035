/**
 * What to do next, as data. The core and the services say which step (a
 * neutral verb and plain JSON arguments) and where it goes in a sentence; each
 * front-end names the step in its own words: the MCP server a tool call with
 * JSON arguments, the CLI a command line (src/mcp/results.ts,
 * src/commands/next-step.ts). So no core message names an MCP tool.
 */

/** The steps a result or an error can point to. */
export type NextAction =
  /** Fetch a task's result: args taskUUID (absent: "a taskUUID"), waitSeconds, numberResults, saveTo. */
  | 'poll'
  /** Run the same call again, accepting the quote: args quoteUsd. */
  | 'confirmCost'
  /** Use an uploaded file as a task's input: args mediaUUID. */
  | 'useMedia';

export interface NextStep {
  action: NextAction;
  args: Record<string, unknown>;
}

/** How a front-end names a step. */
export type StepWords = (step: NextStep) => string;

export const step = (action: NextAction, args: Record<string, unknown> = {}): NextStep => ({ action, args });

/** Waiting for a task: args as the front-ends show them (waitSeconds 60 unless said; numberResults only when more than one). */
export function pollStep(
  taskUUID: string,
  more: { waitSeconds?: number; numberResults?: number; saveTo?: string } = {},
): NextStep {
  const n = more.numberResults;
  return step('poll', {
    taskUUID,
    waitSeconds: more.waitSeconds ?? 60,
    ...(n !== undefined && n > 1 ? { numberResults: n } : {}),
    ...(more.saveTo !== undefined ? { saveTo: more.saveTo } : {}),
  });
}

/** Without a front-end (logs, the journal): the verb and its arguments. */
export const plainWords: StepWords = (s) =>
  Object.keys(s.args).length ? `${s.action} ${JSON.stringify(s.args)}` : s.action;

const SLOT = '{step}';

/**
 * A sentence with `{step}` where each step goes, in order, and the steps as
 * data. Serialised without a front-end it reads in plain words, so a Next
 * that reaches a log or a file is still a sentence.
 */
export class Next {
  constructor(
    readonly text: string,
    readonly steps: NextStep[] = [],
  ) {}

  render(words: StepWords): string {
    const step = (k: number): string => (this.steps[k] ? words(this.steps[k]) : '');
    return this.text
      .split(SLOT)
      .map((part, k) => (k === 0 ? part : step(k - 1) + part))
      .join('');
  }

  /** The same steps, with more said after. */
  and(more: string | undefined): Next {
    return more ? new Next(`${this.text} ${more}`, this.steps) : this;
  }

  toString(): string {
    return this.render(plainWords);
  }

  toJSON(): string {
    return this.toString();
  }
}

export const next = (text: string, ...steps: NextStep[]): Next => new Next(text, steps);

/** A hint or note in a front-end's words: a Next rendered, a string as it is. */
export function say(value: string | Next, words: StepWords): string;
export function say(value: string | Next | undefined, words: StepWords): string | undefined;
export function say(value: string | Next | undefined, words: StepWords): string | undefined {
  return value instanceof Next ? value.render(words) : value;
}

/** The steps of a hint or note, for a structured error's data form. */
export const stepsOf = (value: unknown): NextStep[] => (value instanceof Next ? value.steps : []);

/** A copy of a result with every Next in it rendered in a front-end's words (plain objects and arrays only). */
export function renderNexts<T>(value: T, words: StepWords): T {
  // Most results hold no Next: a scan that allocates nothing says so before any copy is made.
  if (!holdsNext(value, 0)) return value;
  const walk = (v: unknown, depth: number): unknown => {
    if (v instanceof Next) return v.render(words);
    if (depth > 32 || !v || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.some((x) => x && typeof x === 'object') ? v.map((x) => walk(x, depth + 1)) : v;
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) return v;
    const entries = Object.entries(v).map(([k, x]) => [k, walk(x, depth + 1)] as const);
    return entries.some(([k, y]) => y !== (v as Record<string, unknown>)[k]) ? Object.fromEntries(entries) : v;
  };
  return walk(value, 0) as T;
}

/** Whether a Next sits anywhere in the plain objects and arrays `renderNexts` walks. */
function holdsNext(v: unknown, depth: number): boolean {
  if (v instanceof Next) return true;
  if (depth > 32 || !v || typeof v !== 'object') return false;
  if (Array.isArray(v)) {
    for (const x of v) if (x && typeof x === 'object' && holdsNext(x, depth + 1)) return true;
    return false;
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k in v) {
    const x = (v as Record<string, unknown>)[k];
    if (x && typeof x === 'object' && holdsNext(x, depth + 1)) return true;
  }
  return false;
}
