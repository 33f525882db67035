/**
 * The "what to do next" a result gives, in the words of the front-end that
 * reads it: over MCP the exact tool and its arguments as JSON, in the CLI the
 * exact command line. One place, so the two never drift.
 */
export type Frontend = 'mcp' | 'cli';

export interface PollStep {
  taskUUID: string;
  waitSeconds?: number;
  numberResults?: number;
  saveTo?: string;
}

/**
 * How this CLI process was invoked, as the start of every command line it prints:
 * under --simulate a printed next step must carry --simulate too, or it would run
 * without the simulator (and without a key). Set once by the CLI's entry point.
 */
let cliInvocation = 'runware-mcp-server';
export function setCliInvocation(flags: { simulate?: boolean; transport?: string }): void {
  cliInvocation = ['runware-mcp-server', ...(flags.simulate ? ['--simulate'] : []), ...(flags.transport ? [`--transport ${flags.transport}`] : [])].join(' ');
}
/** `runware-mcp-server [--simulate] ...`: the start of a printed command line. */
export const cliCommand = (): string => cliInvocation;

const shellWord = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** How to poll a task: `runware_poll {"taskUUID":...}` or `runware-mcp-server poll UUID --wait S ...`. */
export function pollStep(fe: Frontend, p: PollStep): string {
  if (fe === 'cli') {
    const out = p.saveTo !== undefined ? ` --out ${shellWord(p.saveTo.replace(/[\\/]+$/, '') || '.')}` : '';
    const n = p.numberResults !== undefined && p.numberResults > 1 ? ` --number-results ${p.numberResults}` : '';
    return `${cliCommand()} poll ${p.taskUUID} --wait ${p.waitSeconds ?? 60}${n}${out}`;
  }
  return `runware_poll with ${JSON.stringify({ taskUUID: p.taskUUID, waitSeconds: p.waitSeconds ?? 60, ...(p.numberResults !== undefined && p.numberResults > 1 ? { numberResults: p.numberResults } : {}), ...(p.saveTo !== undefined ? { saveTo: p.saveTo } : {}) })}`;
}
