/**
 * The studio as an MCP App, in a real headless Chromium: a minimal host page
 * built on ext-apps' AppBridge loads ui://runware/studio (read from the real
 * server, under the CSP its _meta declares) in a sandboxed iframe, and relays
 * the page's tools/call and resources/read to that server (in-process,
 * against the simulator). The page renders a batch, plays a video, runs
 * "upscale" through the server, asks before a priced call, and its journal
 * view shows the new task. Screenshots go to test-artifacts/.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { STUDIO_URI } from '../../src/mcp/studio.js';
import { AppContext } from '../../src/services/context.js';
import { Logger } from '../../src/shared/log.js';
import type { Simulator } from '../../src/simulator/server.js';
import { launchChromium, needChromium } from '../browser.js';
import { ROOT, simEnv, startSim } from '../helpers.js';
import { serveInProcess } from '../in-process.js';

const ARTIFACTS = join(ROOT, 'test-artifacts');
/** The browser-side shapes the test reads (the tests compile without DOM types). */
interface VideoLike {
  play(): Promise<void>;
  paused: boolean;
  currentTime: number;
  error: { code: number } | null;
}
interface ImageLike {
  naturalWidth: number;
  src: string;
}
const ok = needChromium('the studio MCP App in a browser');

/** The host page's script: AppBridge over postMessage to the iframe; calls go to window.relay (the test). */
const HOST = `
import { AppBridge, PostMessageTransport } from '@modelcontextprotocol/ext-apps/app-bridge';
window.startStudio = async (html) => {
  const iframe = document.createElement('iframe');
  iframe.setAttribute('sandbox', 'allow-scripts');
  iframe.style.cssText = 'width:100%;height:680px;border:0';
  document.body.append(iframe);
  const bridge = new AppBridge(null, { name: 'test-host', version: '1' }, { serverTools: {}, serverResources: {}, logging: {} });
  bridge.oncalltool = (params) => window.relay('tools/call', params);
  bridge.onreadresource = (params) => window.relay('resources/read', params);
  const ready = new Promise((r) => (bridge.oninitialized = r));
  await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
  iframe.srcdoc = html;
  await ready;
  window.deliver = async (args, result) => {
    await bridge.sendToolInput({ arguments: args });
    await bridge.sendToolResult(result);
  };
};
`;

/** What a host does with the resource's csp: the page may load media from those origins and blob:, connect nowhere. */
function withCsp(html: string, resourceDomains: string[]): string {
  const media = ['blob:', 'data:', ...resourceDomains].join(' ');
  const csp = `default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src ${media}; media-src ${media}; connect-src 'none'; base-uri 'none'; form-action 'none'`;
  return html.replace('<head>', `<head><meta http-equiv="Content-Security-Policy" content="${csp}">`);
}

describe.skipIf(!ok)('studio MCP App in Chromium', () => {
  let sim: Simulator;
  let app: AppContext;
  let client: Client;
  let page: Page;
  let closeBrowser: () => Promise<void>;
  const calls: Array<{ name: string; arguments: Record<string, unknown> }> = [];
  /** Refusals the relay answers instead of the server, by tool, once each (the price contract). */
  const stubs: Array<{ when: (name: string, args: Record<string, unknown>) => boolean; result: CallToolResult }> = [];
  const blocked: string[] = [];

  beforeAll(async () => {
    sim = await startSim({ timeScale: 0.02 });
    const out = mkdtempSync(join(tmpdir(), 'rw-studio-out-'));
    app = new AppContext(loadConfig(simEnv(sim, { RUNWARE_OUTPUT_DIR: out })), new Logger('error'));
    client = (await serveInProcess(app, { name: 'studio-host' })).client;

    const launched = await launchChromium();
    closeBrowser = launched.close;
    page = await launched.browser.newPage();
    page.on('console', (m) => {
      if (/Content Security Policy|Refused/.test(m.text())) blocked.push(m.text());
    });
    await page.exposeFunction(
      'relay',
      async (method: string, params: { name?: string; arguments?: Record<string, unknown>; uri?: string }) => {
        if (method === 'resources/read') return (await client.readResource({ uri: params.uri! })) as ReadResourceResult;
        const args = params.arguments ?? {};
        calls.push({ name: params.name!, arguments: args });
        const i = stubs.findIndex((s) => s.when(params.name!, args));
        if (i >= 0) return stubs.splice(i, 1)[0]!.result;
        // The server on this branch may not know confirmCostUsd yet: the page's side of the contract is what is tested.
        const { confirmCostUsd: _c, ...rest } = args;
        return client.callTool({ name: params.name!, arguments: rest });
      },
    );
    const host = await build({
      stdin: { contents: HOST, resolveDir: ROOT, loader: 'js' },
      bundle: true,
      write: false,
      format: 'iife',
      platform: 'browser',
      logLevel: 'silent',
    });
    await page.setContent('<!doctype html><html><body style="margin:0"></body></html>');
    await page.addScriptTag({ content: host.outputFiles[0]!.text });

    const res = await client.readResource({ uri: STUDIO_URI });
    const c = res.contents[0] as {
      text: string;
      mimeType: string;
      _meta?: { ui?: { csp?: { resourceDomains?: string[] } } };
    };
    expect(c.mimeType).toBe('text/html;profile=mcp-app');
    await page.evaluate(
      (html) => (globalThis as unknown as { startStudio: (h: string) => Promise<void> }).startStudio(html),
      withCsp(c.text, c._meta?.ui?.csp?.resourceDomains ?? []),
    );
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await closeBrowser?.();
    await client?.close();
    await app?.close();
    await sim?.stop();
  });

  const studio = () => page.frameLocator('iframe');
  /** The host shows a tool's input and result to the page, as a host does after a call. */
  async function deliver(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    await page.evaluate(
      ([a, r]) => (globalThis as unknown as { deliver: (a: unknown, r: unknown) => Promise<void> }).deliver(a, r),
      [args, result] as const,
    );
    return result;
  }

  it('plays a video from a saved output (a blob: URL read through resources/read)', async () => {
    await deliver('runware_run', {
      model: 'klingai:5@3',
      params: { positivePrompt: 'waves at dusk', outputFormat: 'WEBM', duration: 5 },
      saveTo: 'clips/',
    });
    const video = studio().locator('video');
    await expect.poll(() => video.getAttribute('src'), { timeout: 15_000 }).toMatch(/^blob:/);
    const played = await video.evaluate(async (v: VideoLike) => {
      await v.play();
      // Playing shows once the time moves: waited for with a deadline, as a busy machine may take a while.
      const until = Date.now() + 10_000;
      while (v.currentTime === 0 && !v.error && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      return { paused: v.paused, time: v.currentTime, error: v.error?.code ?? null };
    });
    expect(played.error).toBeNull();
    expect(played.time).toBeGreaterThan(0);
  });

  it('renders a batch: four images with size, seed, cost, model, taskUUID and saved path; a prompt with markup stays text', async () => {
    const prompt = 'a lighthouse <script>window.pwned=1</script><img src=x onerror="window.pwned=2">';
    const r = await deliver('runware_text_to_image', {
      prompt,
      numberResults: 4,
      width: 512,
      height: 512,
      saveTo: 'batch/',
    });
    const sc = r.structuredContent as { taskUUID: string; images: Array<{ seed: number; savedTo: string }> };
    const cards = studio().locator('#outputs figure.image');
    await expect.poll(() => cards.count(), { timeout: 15_000 }).toBe(4);
    await expect
      .poll(
        () =>
          studio()
            .locator('#outputs img')
            .evaluateAll(
              (imgs) =>
                imgs.filter(
                  (i) =>
                    (i as unknown as ImageLike).naturalWidth > 0 && (i as unknown as ImageLike).src.startsWith('blob:'),
                ).length,
            ),
        { timeout: 15_000 },
      )
      .toBe(4);
    const first = cards.first();
    await expect.poll(() => first.locator('.size').textContent()).toBe('512×512');
    expect(await first.textContent()).toContain(`seed ${sc.images[0]!.seed}`);
    expect(await first.textContent()).toContain(sc.taskUUID);
    expect(await first.textContent()).toContain(sc.images[0]!.savedTo);
    expect(await first.textContent()).toContain('runware:101@1');
    // The prompt is shown as the text it is; no element came of it, no script ran.
    expect(await studio().locator('#call .prompt').textContent()).toBe(prompt);
    expect(await studio().locator('#call script, #call img').count()).toBe(0);
    expect(
      await studio()
        .locator('body')
        .evaluate(() => (globalThis as unknown as { pwned?: number }).pwned),
    ).toBeUndefined();
    await page.screenshot({ path: join(ARTIFACTS, 'studio-batch.png') });
  });

  it('runs "upscale" through the server, and the journal view shows the new task', async () => {
    const before = calls.length;
    await studio().locator('#outputs figure.image').first().getByRole('button', { name: 'Upscale' }).click();
    await expect.poll(() => studio().locator('#status').textContent(), { timeout: 20_000 }).toMatch(/Done: upscaling/);
    expect(calls[before]).toMatchObject({ name: 'runware_model_search', arguments: { capability: 'upscale' } });
    const call = calls.slice(before).find((c) => c.name === 'runware_run')!;
    expect(call.arguments).toMatchObject({ model: 'runware:501@1', saveTo: 'batch/', params: { upscaleFactor: 2 } });
    // The upscaled image is shown, from its saved file.
    await expect
      .poll(
        () =>
          studio()
            .locator('#outputs img')
            .evaluate((i) => (i as unknown as ImageLike).naturalWidth),
        { timeout: 15_000 },
      )
      .toBe(1024);
    await studio().locator('#tab-journal').click();
    const row = studio().locator('#journal-list .row', { hasText: 'upscale' });
    await expect.poll(() => row.count(), { timeout: 15_000 }).toBeGreaterThan(0);
    expect(await studio().locator('#journal-list .row').count()).toBeGreaterThanOrEqual(3);
    // Filters: by status, then by model.
    await studio().locator('#f-model').selectOption('runware:101@1');
    await expect.poll(() => studio().locator('#journal-list .row').count()).toBe(1);
    await studio().locator('#f-model').selectOption('');
    expect(await studio().locator('#spend').textContent()).toMatch(/^Today \$/);
    await page.screenshot({ path: join(ARTIFACTS, 'studio-journal.png') });
    await studio().locator('#tab-outputs').click();
  });

  it('a call refused for its price shows the quote and asks; the second call carries confirmCostUsd; a spend-cap refusal is said as such', async () => {
    // Back to a batch to act on.
    await deliver('runware_text_to_image', {
      prompt: 'a red fox',
      numberResults: 2,
      width: 512,
      height: 512,
      saveTo: 'batch/',
    });
    await expect.poll(() => studio().locator('#outputs figure.image').count(), { timeout: 15_000 }).toBe(2);
    const refusal = (code: string, extra: Record<string, unknown>): CallToolResult => ({
      isError: true,
      content: [{ type: 'text', text: `Error (policy): ${code}` }],
      structuredContent: {
        error: {
          kind: 'policy',
          code,
          message:
            code === 'spend_cap'
              ? "today's spend would pass the cap"
              : 'this call costs more than the confirmation threshold',
          next: 'confirm',
          ...extra,
        },
      },
    });
    stubs.push({
      when: (n, a) =>
        n === 'runware_run' &&
        (a.params as Record<string, unknown>).outputFormat === 'PNG' &&
        a.confirmCostUsd === undefined,
      result: refusal('confirmation_required', {
        field: 'confirmCostUsd',
        quoteUsd: 0.42,
        spentTodayUsd: 1.5,
        capUsd: 5,
      }),
    });
    const before = calls.length;
    await studio().locator('#outputs figure.image').first().getByRole('button', { name: 'Remove background' }).click();
    const dialog = studio().locator('#confirm');
    await expect.poll(() => dialog.isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await dialog.textContent()).toContain('$0.42');
    expect(await dialog.textContent()).toContain('Daily cap: $5.00');
    await studio().locator('#confirm-yes').click();
    await expect
      .poll(() => studio().locator('#status').textContent(), { timeout: 20_000 })
      .toMatch(/Done: removing the background/);
    const sent = calls.slice(before).filter((c) => c.name === 'runware_run');
    expect(sent.map((c) => c.arguments.confirmCostUsd)).toEqual([undefined, 0.42]);

    stubs.push({
      when: (n) => n === 'runware_text_to_image',
      result: refusal('spend_cap', { spentTodayUsd: 4.99, capUsd: 5 }),
    });
    await deliver('runware_text_to_image', {
      prompt: 'a red fox',
      numberResults: 1,
      width: 512,
      height: 512,
      saveTo: 'batch/',
    });
    await expect.poll(() => studio().locator('#outputs figure.image').count(), { timeout: 15_000 }).toBe(1);
    await studio().locator('#outputs figure.image').first().getByRole('button', { name: 'New seed' }).click();
    await expect
      .poll(() => studio().locator('#status').textContent(), { timeout: 10_000 })
      .toMatch(/^Spend cap reached \(spent \$4\.99, cap \$5\.00\)/);
    expect(await studio().locator('#status').getAttribute('data-kind')).toBe('error');
  });

  it('"animate" finds an image-to-video model through model search and runs it on the image, saved beside it', async () => {
    await deliver('runware_text_to_image', {
      prompt: 'a red fox',
      numberResults: 1,
      width: 512,
      height: 512,
      saveTo: 'batch/',
    });
    const card = studio().locator('#outputs figure.image').first();
    await expect.poll(() => card.count(), { timeout: 15_000 }).toBe(1);
    expect(await card.getAttribute('data-task-uuid')).toMatch(/^[0-9a-f-]{36}$/);
    const before = calls.length;
    await card.getByRole('button', { name: 'Animate' }).click();
    await expect
      .poll(() => studio().locator('#status').textContent(), { timeout: 30_000 })
      .toMatch(/^Done: animating with /);
    // The page refreshes its task list on its own schedule: that read may fall anywhere among the calls.
    const sent = calls.slice(before).filter((c) => c.name !== 'runware_tasks');
    expect(sent[0]).toMatchObject({ name: 'runware_model_search', arguments: { capability: 'image-to-video' } });
    // The model is the one the search found for the capability.
    const search = (await client.callTool({
      name: 'runware_model_search',
      arguments: sent[0]!.arguments,
    })) as CallToolResult;
    const found = (search.structuredContent as { results: Array<{ air: string; taskType?: string }> }).results.find(
      (h) => h.taskType === undefined || h.taskType === 'videoInference',
    );
    const run = sent.find((c) => c.name === 'runware_run')!;
    expect(run.arguments).toMatchObject({
      model: found?.air ?? 'klingai:5@3',
      saveTo: 'batch/',
      params: { positivePrompt: 'a red fox' },
    });
    const frames = (
      (run.arguments.params as Record<string, unknown>).inputs as {
        frameImages: Array<{ image: string; frame: string }>;
      }
    ).frameImages;
    expect(frames).toEqual([{ image: expect.stringMatching(/^[0-9a-f-]{36}$/), frame: 'first' }]);
    await expect.poll(() => studio().locator('#outputs figure.video video').count(), { timeout: 15_000 }).toBe(1);
  });

  it('nothing outside blob:, data: and the declared media origins was loaded', () => {
    expect(blocked).toEqual([]);
  });
});
