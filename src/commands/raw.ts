import { readFile } from 'node:fs/promises';
import type { AppContext } from '../services/context.js';
import { rawRequest } from '../services/request.js';
import { parse } from './args.js';
import { EXIT_FAILED, EXIT_OK, UsageError, printJson } from './output.js';

export const usage = `Usage: runware-mcp-server raw FILE     (or - for stdin)

Sends a JSON task array (or one task) under the rules: the server assigns a fresh
taskUUID to every task, refuses apiKey fields and authentication tasks, and reports
each task's outcome by taskUUID. Exit 1 if any task failed.`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function run(ctx: AppContext, args: string[]): Promise<number> {
  const { positionals } = parse(args, {}, true);
  if (positionals.length !== 1) throw new UsageError('raw needs exactly one FILE (or - for stdin)');
  const file = positionals[0]!;
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(
      `cannot read ${file === '-' ? 'stdin' : file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  let tasks: unknown;
  try {
    tasks = JSON.parse(text);
  } catch (e) {
    throw new UsageError(
      `${file === '-' ? 'stdin' : file} is not valid JSON: ${(e as Error).message}`,
      'Give a JSON task array (or one task object).',
    );
  }
  const r = await rawRequest(ctx, tasks);
  printJson(r);
  return r.anyFailed ? EXIT_FAILED : EXIT_OK;
}
