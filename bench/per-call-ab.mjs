#!/usr/bin/env node
// Per-call cost of several builds at once, against the yardstick (part 2 of run.mjs), for telling
// whether a change moved it. On this kind of machine one server process's median moves by ±0.05 ms
// from another's of the same build, more than most single changes: so each build runs in REPS
// processes, all of them and the yardstick take turns call for call (the order turning each round),
// and a build's figure is the mean of its processes' medians. CPU time per call is read from
// /proc/PID/schedstat (the server's main thread, work done while the request is in flight included).
//
//   BUILDS=dist/cli.js,/tmp/other/dist/cli.js?RUNWARE_TRANSPORT=ws REPS=3 CALLS=600 node bench/per-call-ab.mjs
//
// A build is a server entry file, with environment variables after `?`. Default: dist/cli.js.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { URLSearchParams } from 'node:url';

const root = new URL('..', import.meta.url).pathname;
const { Simulator } = await import(join(root, 'dist/simulator/server.js'));
const { cleanEnv, creds, serverEnvFor, stdio } = await import(join(root, 'bench/peers.mjs'));

const CALLS = Number(process.env.CALLS ?? 600);
const REPS = Number(process.env.REPS ?? 3);
const WARM = Number(process.env.WARM ?? 100);
const builds = (process.env.BUILDS ?? join(root, 'dist/cli.js')).split(',');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cpuNs = (peer) => Number(readFileSync(`/proc/${peer.s.child.pid}/schedstat`, 'utf8').split(' ')[0]);

const sim = new Simulator({ timeScale: 0, credentials: creds });
const info = await sim.start();
const peers = [
  {
    label: 'yardstick',
    s: stdio(
      [join(root, 'bench/yardstick/sdk-server.mjs'), '--post', info.runwareUrl],
      cleanEnv({ BENCH_KEY: creds.apiKey }),
    ),
    name: 'search',
    args: { search: 'flux' },
  },
  ...builds.flatMap((build) => {
    const [file, query = ''] = build.split('?');
    const env = Object.fromEntries(new URLSearchParams(query));
    return Array.from({ length: REPS }, () => ({
      label: build,
      s: stdio([resolve(file)], serverEnvFor(info, env)),
      name: 'runware_model_search',
      args: { search: 'flux', limit: 5 },
    }));
  }),
];
for (const p of peers) {
  await p.s.hello();
  p.times = [];
}
for (let i = 0; i < WARM; i++) for (const p of peers) await p.s.call(p.name, p.args);
for (const p of peers) p.cpu0 = cpuNs(p);
for (let i = 0; i < CALLS; i++) {
  const order = peers.map((_, k) => peers[(k + i) % peers.length]);
  if (i % 2) order.reverse();
  for (const p of order) {
    const t0 = performance.now();
    await p.s.call(p.name, p.args);
    p.times.push(performance.now() - t0);
  }
}
for (const p of peers) p.cpuUs = (cpuNs(p) - p.cpu0) / CALLS / 1e3;

const yard = median(peers[0].times);
const byLabel = new Map();
for (const p of peers) byLabel.set(p.label, [...(byLabel.get(p.label) ?? []), p]);
process.stdout.write(`${CALLS} calls each, ${REPS} processes a build, after ${WARM} calls of warm-up\n`);
for (const [label, ps] of byLabel) {
  const ms = ps.reduce((a, p) => a + median(p.times), 0) / ps.length;
  const cpu = ps.reduce((a, p) => a + p.cpuUs, 0) / ps.length;
  const each = ps.map((p) => median(p.times).toFixed(3)).join(' ');
  process.stdout.write(
    `${label.padEnd(36)} ${ms.toFixed(3)} ms  ${(ms / yard).toFixed(3)}×  cpu ${cpu.toFixed(0)} µs/call  [${each}]\n`,
  );
}
for (const p of peers) p.s.stop();
await sim.stop();
process.exit(0);
