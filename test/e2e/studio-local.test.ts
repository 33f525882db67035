/**
 * The studio as a local web page (`studio`): the token is required, a foreign
 * Host or Origin is refused, only outputs the journal recorded inside the
 * output folder are served, the page carries a strict CSP, and in Chromium a
 * prompt holding <script> is shown as text.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStudio, type StudioHandle } from '../../src/commands/studio.js';
import { loadConfig } from '../../src/config.js';
import { AppContext } from '../../src/services/context.js';
import { studioCall } from '../../src/services/studio.js';
import { Logger } from '../../src/shared/log.js';
import type { Simulator } from '../../src/simulator/server.js';
import { launchChromium, needChromium } from '../browser.js';
import { CANARY, CLI, simEnv, sleep, startSim } from '../helpers.js';

const PROMPT = 'a lighthouse </q><script>window.pwned=1</script><img src=x onerror="window.pwned=2">';

let sim: Simulator;
let ctx: AppContext;
let studio: StudioHandle;
let out: string;
let taskUUID: string;

/** A raw request, so Host and Origin can be anything. */
function raw(
  path: string,
  headers: Record<string, string>,
  method = 'GET',
  body?: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: studio.port, path, method, headers: { host: `127.0.0.1:${studio.port}`, ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('latin1');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
const api = (path: string, extra: Record<string, string> = {}, method = 'GET', body?: string) =>
  raw(path, { 'x-studio-token': studio.token, ...extra }, method, body);

beforeAll(async () => {
  sim = await startSim({ timeScale: 0.02 });
  out = mkdtempSync(join(tmpdir(), 'rw-studio-local-'));
  ctx = new AppContext(loadConfig(simEnv(sim, { RUNWARE_OUTPUT_DIR: out })), new Logger('error'), 'cli');
  const made = await studioCall(
    ctx,
    'runware_text_to_image',
    { prompt: PROMPT, numberResults: 2, width: 512, height: 512, saveTo: 'local/' },
    { roots: [out] },
  );
  expect(made.isError).toBeUndefined();
  taskUUID = String(made.structuredContent.taskUUID);
  studio = await startStudio(ctx, { port: 0 });
});
afterAll(async () => {
  await studio?.close();
  await ctx?.close();
  await sim?.stop();
});

describe('studio local page', () => {
  it('listens on loopback and prints a URL with a random token', () => {
    expect(studio.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
  });

  it('requires the token: no page and no API without it', async () => {
    expect((await raw('/', {})).status).toBe(401);
    expect((await raw(`/?token=${'x'.repeat(32)}`, {})).status).toBe(401);
    expect((await raw(`/api/output/${taskUUID}/0`, {})).status).toBe(401);
    expect(
      (
        await raw(
          '/api/call',
          { 'content-type': 'application/json', 'x-studio-token': 'nope' },
          'POST',
          '{"name":"runware_tasks"}',
        )
      ).status,
    ).toBe(401);
    const page = await raw(`/?token=${studio.token}`, {});
    expect(page.status).toBe(200);
    expect(page.body).toContain('Runware studio');
  });

  it('serves the page under a strict CSP: inline code by hash only, media from blob: and Runware, requests to itself', async () => {
    const csp = String((await raw(`/?token=${studio.token}`, {})).headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain('img-src blob: https://im.runware.ai');
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
  });

  it('refuses a foreign Host or Origin, even with the token', async () => {
    expect((await api('/api/call', { host: 'evil.example', 'content-type': 'application/json' })).status).toBe(403);
    expect((await raw(`/?token=${studio.token}`, { host: `rebound.example:${studio.port}` })).status).toBe(403);
    expect((await api(`/api/output/${taskUUID}/0`, { origin: 'http://evil.example' })).status).toBe(403);
    // Another port on loopback is another origin.
    expect(
      (await api(`/api/output/${taskUUID}/0`, { origin: `http://127.0.0.1:${studio.port === 1 ? 2 : 1}` })).status,
    ).toBe(403);
    expect((await api(`/api/output/${taskUUID}/0`, { origin: `http://127.0.0.1:${studio.port}` })).status).toBe(200);
  });

  it('calls the same services as the tools, with arguments checked by name', async () => {
    const call = async (body: unknown) =>
      JSON.parse(
        (await api('/api/call', { 'content-type': 'application/json' }, 'POST', JSON.stringify(body))).body,
      ) as { isError?: boolean; structuredContent: Record<string, unknown> };
    const tasks = await call({ name: 'runware_tasks', arguments: { limit: 5 } });
    expect((tasks.structuredContent.tasks as Array<{ taskUUID: string }>).map((t) => t.taskUUID)).toContain(taskUUID);
    const bad = await call({ name: 'runware_text_to_image', arguments: { prompt: 'x', width: '512' } });
    expect(bad).toMatchObject({ isError: true, structuredContent: { error: { kind: 'validation', field: 'width' } } });
    const unknown = await call({ name: 'runware_request', arguments: {} });
    expect(unknown).toMatchObject({ isError: true, structuredContent: { error: { field: 'name' } } });
    expect((await api('/api/call', { 'content-type': 'text/plain' }, 'POST', '{}')).status).toBe(415);
  });

  it("holds the tools' bounds, not only their types: nothing out of range is sent, and a refused body is not echoed", async () => {
    const call = async (body: unknown) =>
      JSON.parse(
        (await api('/api/call', { 'content-type': 'application/json' }, 'POST', JSON.stringify(body))).body,
      ) as { isError?: boolean; structuredContent: Record<string, unknown> };
    const before = sim.state.log.length;
    for (const [name, args, field] of [
      ['runware_model_search', { limit: -5 }, 'limit'],
      ['runware_model_search', { offset: 1e15 }, 'offset'],
      ['runware_model_search', { type: '../' }, 'type'],
      ['runware_model_search', { capability: '' }, 'capability'],
      ['runware_tasks', { status: 'zzz' }, 'status'],
      ['runware_tasks', { limit: -5 }, 'limit'],
      ['runware_text_to_image', { prompt: 'a lighthouse at dusk', confirmCostUsd: -1 }, 'confirmCostUsd'],
    ] as const) {
      expect(await call({ name, arguments: args }), `${name} ${JSON.stringify(args)}`).toMatchObject({
        isError: true,
        structuredContent: { error: { kind: 'validation', field } },
      });
    }
    expect(sim.state.log.slice(before).filter((e) => e.surface === 'runware')).toEqual([]);
    const echoed = await api('/api/call', { 'content-type': 'application/json' }, 'POST', CANARY.apiKey);
    expect(echoed.status).toBe(400);
    expect(echoed.body).not.toContain(CANARY.apiKey.slice(0, 10));
  });

  it('serves only outputs the journal recorded inside the output folder: a journal path outside it, or a symlink out, is not served', async () => {
    const ok = await api(`/api/output/${taskUUID}/0`);
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^image\//);
    expect(ok.headers['content-security-policy']).toContain('sandbox');
    const elsewhere = mkdtempSync(join(tmpdir(), 'rw-studio-elsewhere-'));
    const secret = join(elsewhere, 'secret.png');
    writeFileSync(secret, 'not yours');
    await ctx.journal.recordSaves(taskUUID, [secret, undefined]);
    const outside = await api(`/api/output/${taskUUID}/0`);
    expect(outside.status).toBe(403);
    expect(outside.body).not.toContain('not yours');
    expect(JSON.parse(outside.body)).toMatchObject({ structuredContent: { error: { kind: 'policy' } } });
    const link = join(out, 'local', 'link.png');
    symlinkSync(secret, link);
    await ctx.journal.recordSaves(taskUUID, [link, undefined]);
    expect((await api(`/api/output/${taskUUID}/0`)).status).toBe(403);
    // An index the journal has no output for, and a path-like id, are refused too.
    expect((await api(`/api/output/${taskUUID}/7`)).status).toBe(403);
    expect((await api('/api/output/..%2F..%2Fetc%2Fpasswd/0')).status).toBe(404);
  });

  it('the built bin: `studio` prints its URL, serves the page with the token only, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [CLI, '--simulate', 'studio', '--port', '0'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: out,
        RUNWARE_STATE_DIR: mkdtempSync(join(tmpdir(), 'rw-studio-bin-')),
        RUNWARE_OUTPUT_DIR: out,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      for (let i = 0; i < 400 && !/token=/.test(stdout); i++) await sleep(25);
      const url = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(stdout)?.[1];
      expect(url, stdout).toBeDefined();
      expect((await fetch(url!)).status).toBe(200);
      expect((await fetch(url!.replace(/token=.*/, 'token=wrong'))).status).toBe(401);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  const withBrowser = needChromium('the studio local page in a browser');
  it.skipIf(!withBrowser)(
    'in Chromium: the journal lists the task; opened, its prompt with <script> shows as text and runs nothing',
    async () => {
      const { browser, close } = await launchChromium();
      try {
        const page = await browser.newPage();
        const violations: string[] = [];
        page.on('console', (m) => {
          if (/Content Security Policy|Refused/.test(m.text())) violations.push(m.text());
        });
        await page.goto(studio.url);
        const row = page.locator('#journal-list .row', { hasText: taskUUID });
        await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(1);
        await row.click();
        await expect.poll(() => page.locator('#call .prompt').textContent(), { timeout: 10_000 }).toBe(PROMPT);
        expect(await page.locator('#call script, #call img, main script').count()).toBe(0);
        expect(await page.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned)).toBeUndefined();
        // Output 1 is still the saved file inside the folder: shown from a blob: URL.
        await expect
          .poll(
            () =>
              page
                .locator('#outputs img')
                .evaluateAll(
                  (imgs) =>
                    imgs.filter(
                      (i) =>
                        (i as unknown as { src: string; naturalWidth: number }).src.startsWith('blob:') &&
                        (i as unknown as { naturalWidth: number }).naturalWidth > 0,
                    ).length,
                ),
            { timeout: 10_000 },
          )
          .toBe(1);
        expect(violations).toEqual([]);
      } finally {
        await close();
      }
    },
  );
});
