// Time to result against Runware's own SDK (@runware/sdk-js, which speaks WebSocket only): the same
// image request, the same simulator, upstream durations fixed per model (sim.state.imageMs). The tool
// runs as a client sees it (MCP over stdio, REST and WebSocket). Like the SDK, it hands back URLs
// (previews off); one more column has previews on over REST, the time then including the downloads. Each (duration, batch) gets one untimed warm-up per side, so
// each model's run time is learned as a user's would be; then the sides take turns, rep for rep.
// Long durations shrink by TIME_SCALE on both sides, and so does the tool's wait, so the longest task
// still outlives it: its time to result runs until runware_poll first returns the result.
import { performance } from 'node:perf_hooks';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Upstream durations (s), each on its own model (run times are learned per model), and how far each is shrunk. */
const CASES = [
  { s: 0.4, model: 'runware:101@1', scale: 1, reps: 9 },
  { s: 2, model: 'runware:100@1', scale: 1, reps: 7 },
  { s: 10, model: 'runware:400@1', scale: 0.1, reps: 7 },
  { s: 60, model: 'runware:97@2', scale: 0.1, reps: 5 },
];
const DEFAULT_WAIT_S = 45;

export async function timeToResult({ sim, info, stdio, serverEnv, creds, root, smoke }) {
  const { RunwareServer } = await import('@runware/sdk-js');
  const sdk = new RunwareServer({ apiKey: creds.apiKey, url: info.wsUrl, shouldReconnect: true });
  await sdk.ensureConnection();
  const tools = {};
  for (const [side, transport, previews] of [
    ['rest', 'rest', '0'],
    ['ws', 'ws', '0'],
    ['previews', 'rest', undefined],
  ]) {
    tools[side] = stdio(
      [`${root}dist/cli.js`],
      serverEnv({
        RUNWARE_TRANSPORT: transport,
        ...(previews !== undefined ? { RUNWARE_PREVIEW_MAX_BYTES: previews } : {}),
      }),
    );
    await tools[side].hello();
  }
  // The smoke: the shortest and the longest case, shrunk, one run each, one image.
  const cases = smoke
    ? [
        { ...CASES[0], scale: 0.25, reps: 1 },
        { ...CASES[3], scale: 0.03, reps: 1 },
      ]
    : CASES;
  const batches = smoke ? [1] : [1, 4];
  const reads = () =>
    sim
      .runwareRequests()
      .flatMap((e) => (Array.isArray(e.body) ? e.body : []))
      .filter((t) => t && (t.taskType === 'getResponse' || t.taskType === 'getTaskDetails'));

  const viaSdk = async (c, n) => {
    const t0 = performance.now();
    const r = await sdk.requestImages({
      positivePrompt: 'a fox',
      model: c.model,
      width: 512,
      height: 512,
      numberResults: n,
    });
    if (!Array.isArray(r) || r.length !== n) throw new Error(`the SDK returned ${r?.length} of ${n} images`);
    return { ms: performance.now() - t0 };
  };
  const viaTool = async (c, n, transport) => {
    const s = tools[transport];
    const waitSeconds = DEFAULT_WAIT_S * c.scale;
    const before = reads().length;
    const t0 = performance.now();
    let r = await s.call('runware_text_to_image', {
      prompt: 'a fox',
      model: c.model,
      width: 512,
      height: 512,
      numberResults: n,
      waitSeconds,
    });
    let sc = r.result?.structuredContent;
    let polled = false;
    // Past the wait: runware_poll until it first returns the result, as an agent would.
    while (sc?.status === 'processing') {
      polled = true;
      r = await s.call('runware_poll', {
        taskUUID: sc.taskUUID,
        numberResults: n,
        waitSeconds: DEFAULT_WAIT_S * c.scale,
      });
      sc = r.result?.structuredContent;
    }
    const ms = performance.now() - t0;
    if (sc?.status !== 'success')
      throw new Error(`text-to-image ended ${sc?.status}: ${JSON.stringify(r).slice(0, 400)}`);
    return { ms, polled, reads: reads().length - before };
  };

  const rows = [];
  for (const c of cases) {
    sim.state.imageMs = Math.round(c.s * 1000 * c.scale);
    for (const n of batches) {
      // Warm-up: a first call may spend its (shrunk) wait on the model's first schema lookup.
      await viaSdk(c, n);
      await viaTool(c, n, 'rest').catch(() => undefined);
      await viaTool(c, n, 'ws').catch(() => undefined);
      await viaTool(c, n, 'previews').catch(() => undefined);
      const x = { sdk: [], rest: [], ws: [], previews: [], polled: 0, reads: [] };
      for (let i = 0; i < c.reps; i++) {
        const order = [['sdk'], ['rest'], ['ws'], ['previews']];
        if (i % 2) order.reverse();
        for (const [side] of order) {
          const r = side === 'sdk' ? await viaSdk(c, n) : await viaTool(c, n, side);
          x[side].push(r.ms);
          if (r.polled) x.polled++;
          if (side === 'rest' || side === 'ws') x.reads.push(r.reads);
        }
      }
      rows.push({
        c,
        n,
        sdk: median(x.sdk),
        rest: median(x.rest),
        ws: median(x.ws),
        previews: median(x.previews),
        polled: x.polled,
        reads: median(x.reads),
      });
    }
  }
  sim.state.imageMs = undefined;
  for (const s of Object.values(tools)) s.stop();
  await sdk.disconnect?.().catch?.(() => undefined);

  const f0 = (x) => x.toFixed(0);
  const r2 = (x) => `${x.toFixed(2)}×`;
  const worst = Math.max(...rows.flatMap((r) => [r.rest / r.sdk, r.ws / r.sdk]));
  return {
    worst,
    lines: [
      "## Time to result against Runware's SDK",
      '',
      `\`@runware/sdk-js\` (WebSocket, its only transport) against \`runware_text_to_image\` over REST and over WebSocket, the same 512×512 request to`,
      "the same simulator, the upstream duration fixed per model. Medians; each case starts with one untimed call per side (the model's",
      "run time learned, as in use). The 10 s and 60 s tasks run at a tenth of the time on both sides, and so does the tool's wait",
      `(${DEFAULT_WAIT_S} s → ${DEFAULT_WAIT_S / 10} s): the 60 s task outlives it, and its time runs until \`runware_poll\` first returns the result.`,
      'Like the SDK, the tool hands back URLs (`RUNWARE_PREVIEW_MAX_BYTES=0`); the last column has previews on (the default),',
      'its time including the download of every image for the inline preview.',
      '',
      '| upstream duration | images | runs | SDK (WS) | tool, REST | ratio | tool, WS | ratio | reads per task (tool) | goal | REST with previews |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
      ...rows.map(
        (r) =>
          `| ${r.c.s} s${r.c.scale !== 1 ? ` (run at ${+(r.c.s * r.c.scale).toFixed(3)} s)` : ''} | ${r.n} | ${r.c.reps} | ${f0(r.sdk)} ms | ${f0(r.rest)} ms | ${r2(r.rest / r.sdk)} | ${f0(r.ws)} ms | ${r2(r.ws / r.sdk)} | ${r.reads}${r.polled ? ` (${r.polled} of ${3 * r.c.reps} calls went on with runware_poll)` : ''} | at most 1.05× | ${f0(r.previews)} ms, ${r2(r.previews / r.sdk)} |`,
      ),
      '',
      `Worst ratio: ${r2(worst)}. Short tasks go out sync (the answer comes with the result); the 60 s one goes async once its run time is learned,`,
      'and its first poll is aimed at that time (see "Polling" above).',
      '',
    ],
  };
}

// Standalone: `node bench/time-to-result.mjs [--smoke]` runs this part alone (npm run bench runs it with the rest).
if (import.meta.url === `file://${process.argv[1]}`) {
  const { join } = await import('node:path');
  const root = new URL('..', import.meta.url).pathname;
  const { Simulator } = await import(join(root, 'dist/simulator/server.js'));
  const { creds, serverEnvFor, stdio } = await import(join(root, 'bench/peers.mjs'));
  const sim = new Simulator({ timeScale: 0, credentials: creds });
  const info = await sim.start();
  const serverEnv = (extra = {}) => serverEnvFor(info, extra);
  const r = await timeToResult({ sim, info, stdio, serverEnv, creds, root, smoke: process.argv.includes('--smoke') });
  await sim.stop();
  process.stdout.write(r.lines.join('\n'));
  process.exit(0);
}
