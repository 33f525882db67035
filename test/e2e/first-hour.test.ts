/**
 * A newcomer's first hour with the built CLI: every printed next step runs as printed,
 * placeholder keys under --simulate, an unreachable catalogue, and the standalone
 * simulator's env, which must not reach the real journal.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, Capture, runCli } from '../helpers.js';

const capture = new Capture();
/** A user's shell: PATH and a fresh HOME (so the default journal would land inside it). */
const shell = (extra: Record<string, string> = {}): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  HOME: capture.tempDir('rw-home-'),
  RUNWARE_SIM_TIME_SCALE: '0.02',
  ...extra,
});

/** A loopback port with nothing listening. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('printed next steps run as printed', () => {
  it('--simulate text-to-image --async names a poll that carries --simulate, and it finishes the task', async () => {
    const env = shell();
    const r = await runCli(
      ['--simulate', 'text-to-image', '--prompt', 'a fox', '--width', '512', '--height', '512', '--async'],
      env,
      capture,
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { next: string; taskUUID?: string };
    const cmd =
      /`?(runware-mcp-server [^`]+?)`? to wait/.exec(out.next)?.[1] ??
      /(runware-mcp-server --simulate poll \S+ --wait \d+)/.exec(out.next)?.[1];
    expect(cmd, out.next).toMatch(/^runware-mcp-server --simulate poll [0-9a-f-]{36} --wait 60/);
    const polled = await runCli(cmd!.split(' ').slice(1), env, capture);
    expect(polled.code, polled.stderr).toBe(0);
    expect(JSON.parse(polled.stdout).status).toBe('success');
  });

  it("the CLI's missing-key message speaks of the shell and --simulate, not a client config", async () => {
    const r = await runCli(['text-to-image', '--prompt', 'a fox'], shell(), capture);
    expect(r.code).toBe(2);
    const err = JSON.parse(r.stdout).error as { message: string };
    expect(err.message).toMatch(/export RUNWARE_API_KEY=/);
    expect(err.message).toMatch(/--simulate/);
    expect(err.message).not.toMatch(/MCP client/);
  });

  it('task <simulated uuid> without --simulate says to add it, and the printed command works', async () => {
    const env = shell();
    const made = await runCli(
      ['--simulate', 'text-to-image', '--prompt', 'a fox', '--width', '512', '--height', '512'],
      env,
      capture,
    );
    expect(made.code, made.stderr).toBe(0);
    const uuid = (JSON.parse(made.stdout) as { taskUUID: string }).taskUUID;
    const r = await runCli(['task', uuid], env, capture);
    expect(r.code).toBe(2);
    const msg = (JSON.parse(r.stdout).error as { message: string }).message;
    expect(msg).toContain(`it is a simulated task: run runware-mcp-server --simulate task ${uuid}`);
    const again = await runCli(['--simulate', 'task', uuid], env, capture);
    expect(again.code, again.stderr).toBe(0);
    const notUuid = await runCli(['task', 'not-a-uuid'], env, capture);
    expect(JSON.parse(notUuid.stdout).error.message).toMatch(/"not-a-uuid" is not a UUID/);
  });
});

describe('--simulate with the snippet as written', () => {
  it('keeps "RUNWARE_API_KEY": "your-key" without refusing it', async () => {
    const r = await runCli(
      ['--simulate', 'model-search', '--search', 'flux', '--limit', '1'],
      shell({ RUNWARE_API_KEY: 'your-key' }),
      capture,
    );
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('a simulated Runway task', () => {
  it("is dated when the simulator ran, not 1970 (the README's example id)", async () => {
    const r = await runCli(['--simulate', 'runway-task', '0b1e2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e'], shell(), capture);
    expect(r.code, r.stderr).toBe(0);
    const created = Date.parse((JSON.parse(r.stdout) as { createdAt: string }).createdAt);
    expect(Math.abs(Date.now() - created)).toBeLessThan(24 * 3600_000);
  });
});

describe('an unreachable schema service', () => {
  it('model-info: kind network, retryable, exit 1, the cause in the message', async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}`;
    const r = await runCli(
      ['model-info', 'klingai:5@3'],
      shell({ RUNWARE_SCHEMAS_URL: url, RUNWARE_CONTENT_URL: url }),
      capture,
    );
    expect(r.code).toBe(1);
    const err = JSON.parse(r.stdout).error as { kind: string; retryable: boolean; message: string };
    expect(err).toMatchObject({ kind: 'network', retryable: true });
    expect(err.message).toMatch(/ECONNREFUSED|could not be reached/);
  });
});

describe('the standalone simulator', () => {
  /** Starts `simulator` with these args, returns its first stdout block, and stops it. */
  async function simulatorOutput(args: string[], home: string): Promise<string> {
    const child = spawn(process.execPath, [CLI, 'simulator', ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (/RUNWARE_STATE_DIR/.test(out) && (args.includes('--shell') ? /\n$/.test(out) : /\}\s*$/.test(out)))
            resolve();
        });
        child.on('exit', () => reject(new Error(`simulator exited: ${out}`)));
      });
    } finally {
      child.kill('SIGTERM');
    }
    return out;
  }

  it("prints an env with a journal folder of its own, outside the user's state", async () => {
    const home = capture.tempDir('rw-home-');
    const printed = JSON.parse(await simulatorOutput([], home)) as { env: Record<string, string> };
    expect(printed.env.RUNWARE_STATE_DIR).toBeTruthy();
    expect(printed.env.RUNWARE_STATE_DIR!.startsWith(home)).toBe(false);
  });

  it('--shell prints export lines to eval, the journal folder among them', async () => {
    const home = capture.tempDir('rw-home-');
    const out = await simulatorOutput(['--shell'], home);
    const lines = out.trim().split('\n');
    expect(
      lines.every((l) => /^export [A-Z_]+='[^']*'$/.test(l)),
      out,
    ).toBe(true);
    expect(out).toMatch(/^export RUNWARE_STATE_DIR='/m);
    expect(out).toMatch(/^export RUNWARE_API_URL='http:\/\/127\.0\.0\.1:\d+/m);
    expect(existsSync(join(home, '.local', 'state', 'runware-mcp-server'))).toBe(false);
  });
});
