/** A task-augmented video call: tasks/get shows the percentage the call reports, with or without a progressToken. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CreateTaskResultSchema, GetTaskResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, withSimulator } from '../../src/config.js';
import { progressStatus } from '../../src/mcp/tasks.js';
import { AppContext } from '../../src/services/context.js';
import { Logger } from '../../src/shared/log.js';
import type { Simulator } from '../../src/simulator/server.js';
import { startSim } from '../helpers.js';
import { serveInProcess } from '../in-process.js';

let sim: Simulator;
let app: AppContext;
let client: Client;

beforeAll(async () => {
  sim = await startSim({ timeScale: 0.3 });
  const dir = mkdtempSync(join(tmpdir(), 'rw-task-progress-'));
  app = new AppContext(
    withSimulator(
      loadConfig({
        RUNWARE_STATE_DIR: join(dir, 'state'),
        RUNWARE_OUTPUT_DIR: dir,
        RUNWARE_SIM_TIME_SCALE: '0.3',
        RUNWARE_LOG_LEVEL: 'error',
      }),
      sim.info,
    ),
    new Logger('error'),
  );
  client = (await serveInProcess(app, { name: 'task-progress' })).client;
});
afterAll(async () => {
  await client.close();
  await app.close();
  await sim.stop();
});

describe('progress in task-augmented calls', () => {
  it('a video runware_run sent with task and no progressToken: tasks/get carries the percentage while it runs', async () => {
    const created = await client.request(
      {
        method: 'tools/call',
        params: {
          name: 'runware_run',
          arguments: { model: 'klingai:5@3', params: { positivePrompt: 'waves', duration: 5 }, waitSeconds: 120 },
          task: {},
        },
      },
      CreateTaskResultSchema,
    );
    const seen: string[] = [];
    const deadline = Date.now() + 20_000;
    let status = 'working';
    while (status === 'working' && Date.now() < deadline) {
      const t = await client.request(
        { method: 'tasks/get', params: { taskId: created.task.taskId } },
        GetTaskResultSchema,
      );
      status = t.status;
      if (t.statusMessage) seen.push(t.statusMessage);
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(status).toBe('completed');
    expect(
      seen.some((m) => /\b\d{1,3}%/.test(m)),
      seen.join(' | '),
    ).toBe(true);
  });

  it("puts the number first and keeps the tool's words", () => {
    expect(progressStatus({ progress: 42.4 })).toBe('42%');
    expect(progressStatus({ progress: 42, message: 'generating' })).toBe('42%: generating');
    expect(progressStatus({ progress: 42, message: 'generating 42%' })).toBe('generating 42%');
    expect(progressStatus({ progress: 1, total: 3 })).toBe('1 of 3');
  });
});
