/**
 * The built CLI and a batch saved as each output arrives: `text-to-image --out` over a
 * WebSocket whose wait (4 s, room for a fresh process to start and sign in) runs out after
 * two of four frames prints the two it saved; `poll --out` in a new process, sharing the
 * journal, saves only the other two and prints all four, once each.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.js';
import { Capture, runCli, simEnv, startSim } from '../helpers.js';

let sim: Simulator;
const capture = new Capture();

beforeAll(async () => {
  sim = await startSim({ timeScale: 0.02 });
});
afterAll(async () => {
  await sim.stop();
  expect(capture.leaks()).toEqual([]);
});

describe('CLI: a batch saved across a call that ran out of wait and a poll', () => {
  it('text-to-image prints the outputs it saved; poll --out saves and prints the rest, once each', async () => {
    const env = simEnv(sim, { RUNWARE_STATE_DIR: mkdtempSync(join(tmpdir(), 'rw-cli-early-')) });
    const dir = capture.tempDir();
    sim.state.hold({ resultsFrom: 2 });
    const args = ['--transport', 'ws', 'text-to-image', '--prompt', 'four lighthouses', '--number-results', '4'];
    const r = await runCli([...args, '--wait', '4', '--out', dir], env, capture);
    const first = JSON.parse(r.stdout) as { taskUUID: string; images: Array<{ savedTo?: string }> };
    const early = first.images.map((i) => i.savedTo).filter(Boolean);
    expect(early, r.stderr).toHaveLength(2);
    expect(readdirSync(dir)).toHaveLength(2);
    sim.state.release();
    const p = await runCli(['poll', first.taskUUID, '--wait', '10', '--out', dir], env, capture);
    expect(p.code, p.stderr).toBe(0);
    const files = (JSON.parse(p.stdout) as { files: Array<{ savedTo?: string }> }).files.map((f) => f.savedTo);
    expect(new Set(files).size).toBe(4);
    for (const e of early) expect(files).toContain(e);
    expect(readdirSync(dir)).toHaveLength(4);
  });
});
