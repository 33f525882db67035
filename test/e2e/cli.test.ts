/** The built CLI end to end, against the simulator (in-process or standalone). */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sniffFormat } from '../../src/media/formats.js';
import type { Simulator } from '../../src/simulator/server.js';
import { CANARY, CLI, Capture, runCli, simEnv, startSim } from '../helpers.js';

let sim: Simulator;
const capture = new Capture();
const bare = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };

beforeAll(async () => {
  sim = await startSim({ timeScale: 0.05 });
});
afterAll(async () => {
  await sim.stop();
});

describe('CLI with --simulate (no key)', () => {
  it('model-search prints compact JSON and exits 0', async () => {
    const r = await runCli(['--simulate', 'model-search', '--search', 'sdxl', '--limit', '3'], bare, capture);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.results).toHaveLength(3);
    expect(out.results[0]).toHaveProperty('air');
    expect(out.totalResults).toBeGreaterThanOrEqual(3);
  });

  it.each(['JPG', 'PNG', 'WEBP'] as const)('text-to-image --out saves a real %s file', async (fmt) => {
    const dir = capture.tempDir();
    const r = await runCli(['--simulate', 'text-to-image', '--prompt', 'a red fox', '--width', '512', '--height', '384', '--format', fmt, '--out', dir], bare, capture);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.status).toBe('success');
    const saved = out.images[0].savedTo as string;
    expect(saved.startsWith(dir)).toBe(true);
    expect(existsSync(saved)).toBe(true);
    expect(sniffFormat(readFileSync(saved))).toBe(fmt);
    expect(out.images[0].format).toBe(fmt);
    expect(readdirSync(dir)).toHaveLength(1);
  });

  it('--transport ws generates and saves over the WebSocket API', async () => {
    const dir = capture.tempDir();
    const r = await runCli(['--simulate', '--transport', 'ws', 'text-to-image', '--prompt', 'a fox', '--width', '256', '--height', '256', '--number-results', '2', '--out', dir], bare, capture);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.status).toBe('success');
    expect(readdirSync(dir)).toHaveLength(2);
  });

  it('raw sends a task array under the rules, from a file or stdin', async () => {
    const dir = capture.tempDir();
    const file = join(dir, 'tasks.json');
    writeFileSync(file, JSON.stringify([{ taskType: 'promptEnhance', prompt: 'a castle', promptVersions: 2 }, { taskType: 'ping', ping: true }]));
    const r = await runCli(['--simulate', 'raw', file], bare, capture);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.tasks.map((t: { status: string }) => t.status)).toEqual(['success', 'success']);
    expect(out.tasks[0].results).toHaveLength(2);
    const s = await runCli(['--simulate', 'raw', '-'], bare, capture, JSON.stringify({ taskType: 'modelSearch', search: 'flux', limit: 1 }));
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout).tasks[0].results[0].results).toHaveLength(1);
  });

  it('raw exits 1 when a task fails, and shows the scoped error', async () => {
    const r = await runCli(['--simulate', 'raw', '-'], bare, capture, JSON.stringify([{ taskType: 'imageInference', positivePrompt: 'x', model: 'runware:101@1', width: 4000, height: 512 }, { taskType: 'ping' }]));
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.tasks[0].errors[0]).toMatchObject({ parameter: 'width' });
    expect(out.tasks[1].status).toBe('success');
  });
});

describe('CLI against a running simulator', () => {
  it('text-to-image --async returns a taskUUID that poll --wait completes', async () => {
    const env = simEnv(sim);
    const a = await runCli(['text-to-image', '--prompt', 'a tall ship', '--async', '--number-results', '2'], env, capture);
    expect(a.code, a.stderr).toBe(0);
    const submitted = JSON.parse(a.stdout);
    expect(submitted.status).toBe('processing');
    expect(submitted.next).toContain(submitted.taskUUID);
    const dir = capture.tempDir();
    const p = await runCli(['poll', submitted.taskUUID, '--wait', '20', '--number-results', '2', '--out', dir], env, capture);
    expect(p.code, p.stderr).toBe(0);
    const done = JSON.parse(p.stdout);
    expect(done.status).toBe('success');
    expect(done.results).toHaveLength(2);
    expect(done.files).toHaveLength(2);
    expect(readdirSync(dir).sort()).toEqual(done.files.map((f: { savedTo: string }) => f.savedTo.split('/').pop()).sort());
    expect(sniffFormat(readFileSync(done.files[0].savedTo))).toBe('JPG');
  });

  it('the key only travels in the Authorization header', async () => {
    const before = sim.runwareRequests().length;
    await runCli(['model-search', '--search', 'anime'], simEnv(sim), capture);
    const reqs = sim.runwareRequests().slice(before);
    expect(reqs.length).toBeGreaterThan(0);
    for (const e of reqs) {
      expect(e.headers.authorization).toBe(`Bearer ${CANARY.apiKey}`);
      expect(JSON.stringify(e.body)).not.toContain(CANARY.apiKey);
    }
  });
});

describe('exit codes and messages', () => {
  it('without a key or --simulate, says how to set the key (exit 2)', async () => {
    const r = await runCli(['model-search', '--search', 'x'], bare, capture);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/RUNWARE_API_KEY/);
    expect(r.stderr).toMatch(/--simulate/);
  });

  it('usage errors exit 2 with nothing sent', async () => {
    const before = sim.runwareRequests().length;
    const env = simEnv(sim);
    for (const args of [['model-search'], ['text-to-image'], ['text-to-image', '--prompt', 'x', '--bogus'], ['frobnicate'], ['poll'], ['text-to-image', '--prompt', 'x', '--format', 'BMP'], ['--transport', 'carrier-pigeon', 'model-search', '--search', 'x']]) {
      const r = await runCli(args, env, capture);
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect(sim.runwareRequests().length).toBe(before);
  });

  it('bad field values are refused naming the field (exit 2), nothing sent', async () => {
    const before = sim.runwareRequests().length;
    const r = await runCli(['text-to-image', '--prompt', 'x', '--width', '500', '--height', '512'], simEnv(sim), capture);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.field).toBe('width');
    const k = await runCli(['raw', '-'], simEnv(sim), capture, JSON.stringify({ taskType: 'imageInference', positivePrompt: 'x', model: 'runware:101@1', apiKey: 'sneaky' }));
    expect(k.code).toBe(2);
    expect(JSON.parse(k.stdout).error).toMatchObject({ kind: 'policy', field: 'tasks[0].apiKey' });
    expect(sim.runwareRequests().length).toBe(before);
  });

  it('every subcommand has --help', async () => {
    for (const c of ['serve', 'model-search', 'text-to-image', 'raw', 'poll', 'runway-task', 'runway-accounts', 'simulator']) {
      const r = await runCli([c, '--help'], bare, capture);
      expect(r.code, c).toBe(0);
      expect(r.stderr).toMatch(/Usage: runware-mcp-server/);
      expect(r.stdout).toBe('');
    }
  });
});

describe('serve on an interactive terminal', () => {
  it('tells a person how to connect it from an MCP client, on stderr', async () => {
    // A real pseudo-terminal (python's pty), since the banner only shows when stdin is a TTY.
    const script = `import os, pty, sys, time, select
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], sys.argv[2]])
out = b''
end = time.time() + 10
while time.time() < end and b'Waiting for MCP' not in out:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            out += os.read(fd, 4096)
        except OSError:
            break
os.kill(pid, 15)
sys.stdout.write(out.decode('utf8', 'replace'))`;
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync('python3', ['-c', script, process.execPath, CLI], { encoding: 'utf8', env: bare, timeout: 20_000 });
    capture.add(r.stdout);
    expect(r.stdout).toMatch(/claude mcp add runware/);
    expect(r.stdout).toMatch(/mcpServers/);
    expect(r.stdout).toMatch(/Waiting for MCP messages/);
  });
});

describe('leaks', () => {
  it('no canary in any stdout, stderr or saved file', () => {
    expect(capture.texts.length).toBeGreaterThan(10);
    expect(capture.leaks()).toEqual([]);
  });
});
