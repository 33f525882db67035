/**
 * Next steps in the CLI's words: the exact command line to run. The core and
 * the services say which step (src/shared/next-step.ts); this names it.
 */
import { money } from '../runware/quote.js';
import { renderNexts, say, type Next, type NextStep, type StepWords } from '../shared/next-step.js';

/**
 * How this CLI process was invoked, as the start of every command line it prints:
 * under --simulate a printed next step must carry --simulate too, or it would run
 * without the simulator (and without a key). Set once by the CLI's entry point.
 */
let cliInvocation = 'runware-mcp-server';
export function setCliInvocation(flags: { simulate?: boolean; transport?: string }): void {
  cliInvocation = [
    'runware-mcp-server',
    ...(flags.simulate ? ['--simulate'] : []),
    ...(flags.transport ? [`--transport ${flags.transport}`] : []),
  ].join(' ');
}
/** `runware-mcp-server [--simulate] ...`: the start of a printed command line. */
export const cliCommand = (): string => cliInvocation;

const shellWord = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** `runware-mcp-server poll UUID --wait 60 --number-results 2 --out DIR`, and so on. */
export const cliWords: StepWords = (s: NextStep): string => {
  const a = s.args;
  switch (s.action) {
    case 'poll': {
      const saveTo = str(a.saveTo);
      const n = num(a.numberResults);
      const out = saveTo !== undefined ? ` --out ${shellWord(saveTo.replace(/[\\/]+$/, '') || '.')}` : '';
      return `${cliCommand()} poll ${str(a.taskUUID) ? shellWord(str(a.taskUUID)!) : 'TASK_UUID'} --wait ${num(a.waitSeconds) ?? 60}${n !== undefined && n > 1 ? ` --number-results ${n}` : ''}${out}`;
    }
    case 'confirmCost':
      return `the same command again with --yes${num(a.quoteUsd) !== undefined ? ` (to spend up to ${money(num(a.quoteUsd)!)})` : ''}, or from a terminal to be asked`;
    case 'useMedia':
      return `${cliCommand()} run MODEL --param inputImage=${shellWord(str(a.mediaUUID) ?? 'MEDIA_UUID')} (or seedImage, referenceImages, inputs.*)`;
  }
};

/** A hint or note as the CLI prints it. */
export const cliSay = (value: string | Next | undefined): string | undefined => say(value, cliWords);

/** A result as the CLI prints it: every next step a command line. */
export const forCli = <T>(value: T): T => renderNexts(value, cliWords);

/** An error's JSON with its hint in CLI words (its steps stay as data, in nextSteps). */
export function cliErrorJson(e: {
  toJSON(): Record<string, unknown>;
  hint?: string | Next | undefined;
}): Record<string, unknown> {
  return { ...e.toJSON(), ...(e.hint ? { hint: cliSay(e.hint) } : {}) };
}
