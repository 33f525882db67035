/**
 * The journal healing between processes: a running MCP server whose journal
 * is deleted keeps writing where the CLI (another process) reads; one whose
 * journal is made unwritable keeps serving, each result saying it was not
 * recorded, runware_account and runware_tasks saying why; and writes again
 * once it can.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.js';
import { Capture, connectStdio, runCli, simEnv, startSim } from '../helpers.js';

let sim: Simulator;
const capture = new Capture();

beforeAll(async () => {
  sim = await startSim({ timeScale: 0.02 });
});
afterAll(async () => {
  await sim.stop();
  expect(capture.leaks()).toEqual([]);
});

type T2I = CallToolResult & { structuredContent: { taskUUID: string; status: string; note?: string } };

describe('a running server whose journal is deleted, then made unwritable', () => {
  it('reopens it where other processes read, and never crashes on an unwritable one', async () => {
    const stateDir = capture.tempDir('rw-heal-');
    const env = simEnv(sim, {
      RUNWARE_STATE_DIR: stateDir,
      RUNWARE_OUTPUT_DIR: capture.tempDir('rw-heal-out-'),
      RUNWARE_LOG_LEVEL: 'warning',
    });
    const path = join(stateDir, 'journal.sqlite');
    const c = await connectStdio([], env, capture);
    const draw = async (prompt: string): Promise<T2I> =>
      (await c.client.callTool({
        name: 'runware_text_to_image',
        arguments: { prompt, width: 512, height: 512 },
      })) as T2I;
    const seenByCli = async (uuid: string): Promise<string | undefined> => {
      const r = await runCli(['task', uuid], env, capture);
      return r.code === 0 ? String((JSON.parse(r.stdout) as { status: string }).status) : undefined;
    };
    try {
      const first = await draw('before');
      expect(await seenByCli(first.structuredContent.taskUUID)).toBe('success');
      for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f, { force: true });
      const second = await draw('after the delete');
      expect(second.isError).toBeFalsy();
      expect(await seenByCli(second.structuredContent.taskUUID)).toBe('success');

      let immutable = true;
      try {
        execFileSync('chattr', ['+i', path, `${path}-wal`, `${path}-shm`], { stdio: 'ignore' });
      } catch {
        immutable = false;
        process.stderr.write('SKIPPED: the unwritable-journal half: chattr +i is not available here\n');
      }
      if (immutable) {
        try {
          const third = await draw('while unwritable');
          expect(third.isError).toBeFalsy();
          expect(third.structuredContent.status).toBe('success');
          expect(third.structuredContent.note).toMatch(
            /Not recorded in the task journal \(.*cannot be written.*\): a restart cannot find this task/,
          );
          const account = (await c.client.callTool({ name: 'runware_account', arguments: {} })) as CallToolResult & {
            structuredContent: { note?: string };
          };
          expect(account.structuredContent.note).toMatch(/unavailable.*cannot be written/);
          const tasks = (await c.client.callTool({ name: 'runware_tasks', arguments: {} })) as CallToolResult;
          expect(tasks.isError).toBe(true);
          expect(JSON.stringify(tasks.content)).toMatch(/cannot be written/);
          await c.client.ping();
        } finally {
          execFileSync('chattr', ['-i', path, `${path}-wal`, `${path}-shm`], { stdio: 'ignore' });
        }
        // Tried again after its backoff (500 ms first): recorded once more.
        await new Promise((r) => setTimeout(r, 1200));
        const fourth = await draw('writable again');
        expect(fourth.structuredContent.note ?? '').not.toMatch(/Not recorded/);
        expect(await seenByCli(fourth.structuredContent.taskUUID)).toBe('success');
      }
    } finally {
      await c.close();
    }
  }, 60_000);
});
