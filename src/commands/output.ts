/**
 * The CLI's one writer to stdout: full JSON, scrubbed. Errors become JSON too,
 * with exit codes 0 (nothing failed), 1 (a task or lookup failed), 2 (usage).
 */
import { isAppError } from '../shared/errors.js';
import { scrubber } from '../shared/redact.js';
import { cliErrorJson, cliSay, forCli } from './next-step.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export class UsageError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Help and version text: what was asked for, so stdout (scrubbed like everything else). */
export function printText(text: string): void {
  process.stdout.write(`${scrubber.text(text)}\n`);
}

/** A result as JSON, its next steps as command lines. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(scrubber.value(forCli(value)), null, 2)}\n`);
}

/**
 * Prints an error as JSON on stdout and a one-line summary on stderr; returns the
 * exit code. `stdout: false` for the stdio server: there stdout is the MCP
 * protocol, and a client would read the JSON as a malformed message.
 */
export function reportError(e: unknown, { stdout = true }: { stdout?: boolean } = {}): number {
  const asJson = (v: unknown): void => {
    if (stdout) printJson(v);
  };
  if (e instanceof UsageError) {
    // Like every other error: JSON on stdout for scripts, a line on stderr for people.
    asJson({ error: { kind: 'usage', message: e.message, hint: e.hint ?? 'Run with --help for usage.' } });
    process.stderr.write(`${scrubber.text(e.message)}\n${scrubber.text(e.hint ?? 'Run with --help for usage.')}\n`);
    return EXIT_USAGE;
  }
  if (isAppError(e)) {
    asJson({ error: cliErrorJson(e) });
    const hint = cliSay(e.hint);
    process.stderr.write(`error: ${scrubber.text(e.message)}${hint ? `\nhint: ${scrubber.text(hint)}` : ''}\n`);
    return e.kind === 'validation' || e.kind === 'policy' || e.kind === 'config' ? EXIT_USAGE : EXIT_FAILED;
  }
  const msg = e instanceof Error ? e.message : String(e);
  asJson({ error: { kind: 'internal', message: msg } });
  process.stderr.write(`error: ${scrubber.text(msg)}\n`);
  return EXIT_FAILED;
}
