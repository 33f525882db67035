/** The built CLI end to end, against the simulator (in-process or standalone). */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sniffFormat } from '../../src/media/formats.js';
import type { Simulator } from '../../src/simulator/server.js';
import { CANARY, CLI, Capture, runCli, simEnv, startSim, waitFor } from '../helpers.js';

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
    const r = await runCli(
      [
        '--simulate',
        'text-to-image',
        '--prompt',
        'a red fox',
        '--width',
        '512',
        '--height',
        '384',
        '--format',
        fmt,
        '--out',
        dir,
      ],
      bare,
      capture,
    );
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
    const r = await runCli(
      [
        '--simulate',
        '--transport',
        'ws',
        'text-to-image',
        '--prompt',
        'a fox',
        '--width',
        '256',
        '--height',
        '256',
        '--number-results',
        '2',
        '--out',
        dir,
      ],
      bare,
      capture,
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.status).toBe('success');
    expect(readdirSync(dir)).toHaveLength(2);
  });

  it('raw sends a task array under the rules, from a file or stdin', async () => {
    const dir = capture.tempDir();
    const file = join(dir, 'tasks.json');
    writeFileSync(
      file,
      JSON.stringify([
        { taskType: 'promptEnhance', prompt: 'a castle', promptVersions: 2 },
        { taskType: 'ping', ping: true },
      ]),
    );
    const r = await runCli(['--simulate', 'raw', file], bare, capture);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.tasks.map((t: { status: string }) => t.status)).toEqual(['success', 'success']);
    expect(out.tasks[0].results).toHaveLength(2);
    const s = await runCli(
      ['--simulate', 'raw', '-'],
      bare,
      capture,
      JSON.stringify({ taskType: 'modelSearch', search: 'flux', limit: 1 }),
    );
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout).tasks[0].results[0].results).toHaveLength(1);
  });

  it('raw exits 1 when a task fails, and shows the scoped error', async () => {
    const r = await runCli(
      ['--simulate', 'raw', '-'],
      bare,
      capture,
      JSON.stringify([
        { taskType: 'imageInference', positivePrompt: 'x', model: 'runware:101@1', width: 4000, height: 512 },
        { taskType: 'ping' },
      ]),
    );
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.tasks[0].errors[0]).toMatchObject({ parameter: 'width' });
    expect(out.tasks[1].status).toBe('success');
  });
});

describe('CLI against a running simulator', () => {
  it('text-to-image --async returns a taskUUID that poll --wait completes', async () => {
    const env = simEnv(sim);
    const a = await runCli(
      ['text-to-image', '--prompt', 'a tall ship', '--async', '--number-results', '2'],
      env,
      capture,
    );
    expect(a.code, a.stderr).toBe(0);
    const submitted = JSON.parse(a.stdout);
    expect(submitted.status).toBe('processing');
    expect(submitted.next).toContain(submitted.taskUUID);
    const dir = capture.tempDir();
    const p = await runCli(
      ['poll', submitted.taskUUID, '--wait', '20', '--number-results', '2', '--out', dir],
      env,
      capture,
    );
    expect(p.code, p.stderr).toBe(0);
    const done = JSON.parse(p.stdout);
    expect(done.status).toBe('success');
    expect(done.results).toHaveLength(2);
    expect(done.files).toHaveLength(2);
    expect(readdirSync(dir).sort()).toEqual(
      done.files.map((f: { savedTo: string }) => f.savedTo.split('/').pop()).sort(),
    );
    expect(sniffFormat(readFileSync(done.files[0].savedTo))).toBe('JPG');
  });

  it('under --simulate too: --async in one command, poll in the next, and the output names the CLI command', async () => {
    const home = capture.tempDir('rw-async-home-');
    const dir = capture.tempDir('rw-async-out-');
    const env = { PATH: bare.PATH, HOME: home, RUNWARE_SIM_TIME_SCALE: '0.05' };
    const a = await runCli(
      ['--simulate', 'text-to-image', '--prompt', 'a slow fox', '--async', '--out', dir],
      env,
      capture,
    );
    expect(a.code, a.stderr).toBe(0);
    const sent = JSON.parse(a.stdout);
    expect(sent.status).toBe('processing');
    expect(sent.next).toContain(`runware-mcp-server --simulate poll ${sent.taskUUID} --wait 60 --out ${dir}`);
    expect(sent.next).not.toContain('runware_poll');
    // A second process with its own simulator: it adopts the task from the simulated journal.
    const p = await runCli(['--simulate', 'poll', sent.taskUUID, '--wait', '30', '--out', dir], env, capture);
    expect(p.code, p.stderr).toBe(0);
    const done = JSON.parse(p.stdout);
    expect(done.status).toBe('success');
    expect(readdirSync(dir)).toHaveLength(1);
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

describe('next steps name CLI commands, never MCP tools', () => {
  it('a refused call: the hint is a command line, and the step is data beside it', async () => {
    const env = { PATH: bare.PATH, HOME: capture.tempDir('rw-next-home-') };
    const task = JSON.stringify([
      {
        taskType: 'promptEnhance',
        prompt: 'a castle',
        promptVersions: 1,
        taskUUID: '0d5e7a3c-5f1b-4c2a-9e8d-7b6a5c4d3e2f',
      },
    ]);
    expect((await runCli(['--simulate', 'raw', '-'], env, capture, task)).code).toBe(0);
    // The same taskUUID again, from another process: the journal refuses it, and says how to read the earlier task.
    const r = await runCli(['--simulate', 'raw', '-'], env, capture, task);
    expect(r.code).toBe(2);
    const { error } = JSON.parse(r.stdout);
    expect(error.hint).toContain('to fetch an earlier task use runware-mcp-server --simulate poll TASK_UUID --wait 60');
    expect(error.nextSteps).toEqual([{ action: 'poll', args: {} }]);
    expect(r.stderr).toMatch(/hint: .*runware-mcp-server --simulate poll/);
    expect(r.stdout + r.stderr).not.toMatch(/runware_[a-z]/);
  });

  it('a task whose fate is unknown at the deadline: next is the poll command line', async () => {
    sim.state.reset();
    sim.addFaults({ kind: 'latency', ms: 60_000, count: 20 });
    try {
      const r = await runCli(
        ['text-to-image', '--prompt', 'a fox', '--width', '512', '--height', '512', '--wait', '2'],
        simEnv(sim),
        capture,
      );
      const out = JSON.parse(r.stdout);
      expect(['unknown', 'processing']).toContain(out.status);
      expect(out.next).toContain(`runware-mcp-server poll ${out.taskUUID} --wait 60`);
      expect(r.stdout + r.stderr).not.toMatch(/runware_[a-z]/);
    } finally {
      sim.state.reset();
    }
  }, 30_000);
});

describe('exit codes and messages', () => {
  it('without a key or --simulate, says how to set the key (exit 2)', async () => {
    // Curated models need no key; with the content service out of reach too, the search has nothing to show.
    const r = await runCli(
      ['model-search', '--search', 'x'],
      { ...bare, RUNWARE_CONTENT_URL: 'http://127.0.0.1:9', RUNWARE_SCHEMAS_URL: 'http://127.0.0.1:9' },
      capture,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/RUNWARE_API_KEY/);
    expect(r.stderr).toMatch(/--simulate/);
  });

  it('usage errors exit 2 with nothing sent', async () => {
    const before = sim.runwareRequests().length;
    const env = simEnv(sim);
    for (const args of [
      ['model-search'],
      ['text-to-image'],
      ['text-to-image', '--prompt', 'x', '--bogus'],
      ['frobnicate'],
      ['poll'],
      ['text-to-image', '--prompt', 'x', '--format', 'BMP'],
      ['--transport', 'carrier-pigeon', 'model-search', '--search', 'x'],
    ]) {
      const r = await runCli(args, env, capture);
      expect(r.code, args.join(' ')).toBe(2);
      // Like every other error: JSON on stdout, a line for people on stderr.
      expect(JSON.parse(r.stdout).error.kind, args.join(' ')).toMatch(/^(usage|validation|config)$/);
      expect(r.stderr.length).toBeGreaterThan(0);
    }
    expect(sim.runwareRequests().length).toBe(before);
  });

  it('the stdio server reports a start-up error on stderr only: its stdout is MCP', async () => {
    for (const [args, env] of [
      [['serve', '--bogus'], bare],
      [[], { ...bare, RUNWARE_MAX_CONCURRENCY: 'lots' }],
    ] as const) {
      const r = await runCli([...args], env, capture);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.length).toBeGreaterThan(0);
    }
  });

  it('the CLI and the MCP tools share their limits, and say them in numbers', async () => {
    const env = simEnv(sim);
    const many = await runCli(['text-to-image', '--prompt', 'x', '--number-results', '21'], env, capture);
    expect(many.code).toBe(2);
    expect(JSON.parse(many.stdout).error.message).toBe('--number-results must be an integer from 1 to 20, not "21"');
    const wide = await runCli(['text-to-image', '--prompt', 'x', '--width', '5000', '--height', '512'], env, capture);
    expect(JSON.parse(wide.stdout).error.message).toBe('--width must be an integer from 64 to 4096, not "5000"');
    const odd = await runCli(['text-to-image', '--prompt', 'x', '--width', '500', '--height', '512'], env, capture);
    expect(odd.stdout).not.toMatch(/Infinity/);
    const { TEXT_TO_IMAGE_LIMITS } = await import('../../src/services/text-to-image.js');
    const { inputSchema } = await import('../../src/mcp/tools/text-to-image.js');
    const json = (await import('zod')).z.toJSONSchema(inputSchema) as {
      properties: Record<string, { maximum?: number; minimum?: number }>;
    };
    expect(json.properties.numberResults!.maximum).toBe(TEXT_TO_IMAGE_LIMITS.numberResults.max);
    expect(json.properties.width!.maximum).toBe(TEXT_TO_IMAGE_LIMITS.width.max);
  });

  it('errors read as sentences: one field name, stdin called stdin, providers in lower case mid-sentence', async () => {
    const p = JSON.parse((await runCli(['--simulate', 'poll', 'not-a-uuid'], bare, capture)).stdout).error;
    expect(p.field).toBe('taskUUID');
    expect(p.message).not.toContain('taskUUID.taskUUID');
    const raw = JSON.parse((await runCli(['--simulate', 'raw', '-'], bare, capture, '{bad')).stdout).error;
    expect(raw.message).toMatch(/^stdin is not valid JSON/);
    const rw = JSON.parse(
      (await runCli(['--simulate', 'runway-task', '11111111-2222-4333-8444-555555555555'], bare, capture)).stdout,
    ).error;
    expect(rw.message).toContain('at the Runway API');
    const cfg = JSON.parse(
      (await runCli(['runway-task', '11111111-2222-4333-8444-555555555555', '--provider', 'runway'], bare, capture))
        .stdout,
    ).error;
    expect(`${cfg.message} ${cfg.hint}`.match(/RUNWAYML_API_SECRET/g)).toHaveLength(1);
  });

  it('--version and --help answer on stdout', async () => {
    const v = await runCli(['--version'], bare, capture);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const h = await runCli(['--help'], bare, capture);
    expect(h.stdout).toMatch(/Commands:/);
    expect(h.stderr).toBe('');
  });

  it('a port in use is a usage error (exit 2) that says what to change', async () => {
    const net = await import('node:net');
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = String((blocker.address() as { port: number }).port);
    try {
      const r = await runCli(['--simulate', 'serve', '--http', '--port', port], bare, capture);
      expect(r.code).toBe(2);
      const e = JSON.parse(r.stdout).error;
      expect(e.kind).toBe('config');
      expect(e.message).toContain(`port ${port}`);
      expect(e.hint).toMatch(/--port/);
    } finally {
      blocker.close();
    }
  });

  it('bad field values are refused naming the field (exit 2), nothing sent', async () => {
    const before = sim.runwareRequests().length;
    const r = await runCli(
      ['text-to-image', '--prompt', 'x', '--width', '500', '--height', '512'],
      simEnv(sim),
      capture,
    );
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.field).toBe('width');
    const k = await runCli(
      ['raw', '-'],
      simEnv(sim),
      capture,
      JSON.stringify({ taskType: 'imageInference', positivePrompt: 'x', model: 'runware:101@1', apiKey: 'sneaky' }),
    );
    expect(k.code).toBe(2);
    expect(JSON.parse(k.stdout).error).toMatchObject({ kind: 'policy', field: 'tasks[0].apiKey' });
    expect(sim.runwareRequests().length).toBe(before);
  });

  it('every subcommand has --help', async () => {
    for (const c of [
      'serve',
      'model-search',
      'text-to-image',
      'raw',
      'poll',
      'runway-task',
      'runway-accounts',
      'simulator',
      'studio',
    ]) {
      const r = await runCli([c, '--help'], bare, capture);
      expect(r.code, c).toBe(0);
      expect(r.stdout).toMatch(/Usage: runware-mcp-server/);
      expect(r.stderr).toBe('');
    }
  });
});

describe('the simulator, as documented', () => {
  it('every Runway task id that simulator --help lists answers under --simulate', async () => {
    const help = (await runCli(['simulator', '--help'], bare, capture)).stdout;
    const ids = [...help.matchAll(/^\s+(?:official API|useapi\.net|makevid\.ai)?\s+(\S+-\S+)\s/gm)].map((m) => m[1]!);
    expect(ids.length).toBe(4);
    const statuses = [];
    for (const id of ids)
      statuses.push(JSON.parse((await runCli(['--simulate', 'runway-task', id], bare, capture)).stdout).status);
    expect(statuses).toEqual(['succeeded', 'failed', 'succeeded', 'succeeded']);
  });

  it('prints every URL the server needs, WebSocket included, and the env works as printed', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [CLI, 'simulator', '--port', '0'], {
      env: bare,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => out.trim().endsWith('}'), { timeoutMs: 15_000, what: "the simulator's address" });
      const env = JSON.parse(out).env as Record<string, string>;
      for (const k of [
        'RUNWARE_API_URL',
        'RUNWARE_WS_URL',
        'RUNWARE_SCHEMAS_URL',
        'RUNWARE_CONTENT_URL',
        'RUNWARE_API_KEY',
      ])
        expect(env[k], k).toBeTruthy();
      const r = await runCli(
        ['--transport', 'ws', 'model-search', '--search', 'flux', '--limit', '1'],
        { ...bare, ...env },
        capture,
      );
      expect(r.code, r.stderr).toBe(0);
    } finally {
      child.kill('SIGTERM');
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
    const r = spawnSync('python3', ['-c', script, process.execPath, CLI], {
      encoding: 'utf8',
      env: bare,
      timeout: 20_000,
    });
    capture.add(r.stdout);
    expect(r.stdout).toMatch(/claude mcp add runware/);
    expect(r.stdout).toMatch(/mcpServers/);
    expect(r.stdout).toMatch(/Waiting for MCP messages/);
    // Started from a clone: the banner gives this bin's own path, which exists, not npx.
    const { realpathSync } = await import('node:fs');
    expect(r.stdout).toContain(`claude mcp add runware -e RUNWARE_API_KEY=... -- node ${realpathSync(CLI)}`);
  });

  it('an installed copy (node_modules, npx cache) suggests npx instead', async () => {
    const { launchCommand } = await import('../../src/mcp/serve.js');
    expect(launchCommand('/home/u/.npm/_npx/1a2b/node_modules/runware-mcp-server/dist/cli.js')).toEqual({
      command: 'npx',
      args: ['-y', 'runware-mcp-server'],
    });
    expect(launchCommand('C:\\Users\\u\\AppData\\npm\\node_modules\\runware-mcp-server\\dist\\cli.js').command).toBe(
      'npx',
    );
    expect(launchCommand('/src/runware-mcp-server/dist/cli.js')).toEqual({
      command: 'node',
      args: ['/src/runware-mcp-server/dist/cli.js'],
    });
  });
});

describe('leaks', () => {
  it('no canary in any stdout, stderr or saved file', () => {
    expect(capture.texts.length).toBeGreaterThan(10);
    expect(capture.leaks()).toEqual([]);
  });
});
