/**
 * The spend cap when prices vary (#27), in process: quotes scaled to the task,
 * a batch reserved in one step, a charge above the ceiling recorded as an
 * overrun and followed by refusals, the confirmation question (elicitation
 * accepted, declined, absent), the dry run under each of its answers, and
 * reservations of a dead sender released (#24).
 *
 * Every test asserts the bound the docs promise: the day's ledger never passes
 * the cap except by the overruns it reports (spent <= cap + overruns).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ElicitRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { AppContext } from '../../src/services/context.js';
import { Logger } from '../../src/shared/log.js';
import { Journal, utcDay } from '../../src/state/journal.js';
import { ledgerTask, outcomeRecord } from '../../src/runware/ledger-records.js';
import { SqliteState } from '../../src/state/sqlite.js';
import Database from 'better-sqlite3';
import { simEnv, useSim } from '../helpers.js';
import { serveInProcess } from '../in-process.js';

const sim = useSim();

type Result = CallToolResult & { structuredContent: Record<string, unknown> };

async function connect(
  env: Record<string, string>,
  opts: {
    elicit?: (message: string) => { action: 'accept' | 'decline' | 'cancel'; content?: Record<string, unknown> };
  } = {},
) {
  const app = new AppContext(
    loadConfig(
      simEnv(sim(), { RUNWARE_LOG_LEVEL: 'error', RUNWARE_SIM_TIME_SCALE: '0.02', RUNWARE_TIME_SCALE: '0.05', ...env }),
    ),
    new Logger('error'),
  );
  const client = new Client(
    { name: 'spend-test', version: '1' },
    { capabilities: opts.elicit ? { elicitation: {} } : {} },
  );
  const asked: string[] = [];
  if (opts.elicit) {
    client.setRequestHandler(ElicitRequestSchema, (req) => {
      asked.push(String(req.params.message));
      return opts.elicit!(String(req.params.message));
    });
  }
  await serveInProcess(app, { client });
  const call = async (name: string, args: Record<string, unknown>): Promise<Result> =>
    (await client.callTool({ name, arguments: args })) as Result;
  const ledger = async () => {
    const s = await (await app.journal.state()).spend(utcDay());
    return { spent: Math.round(s.today * 1e6) / 1e6, overrun: Math.round((s.overrunToday ?? 0) * 1e6) / 1e6 };
  };
  return { app, client, call, asked, ledger, close: async () => (await client.close(), await app.close()) };
}

const ran = (model?: string): number =>
  [...sim().state.accepted.keys()].length &&
  sim()
    .runwareRequests()
    .flatMap((e) =>
      Array.isArray(e.body) && !e.headers['x-runware-dry-run'] ? (e.body as Array<Record<string, unknown>>) : [],
    )
    .filter((t) => t.taskType === 'imageInference' && (!model || t.model === model)).length;
const err = (r: Result): Record<string, unknown> => r.structuredContent.error as Record<string, unknown>;

describe('quotes scale with the task', () => {
  it('a bigger task of a model is reserved more, so varying prices cannot pass the cap (one cheap run, then large ones)', async () => {
    // Runware-like pricing: FLUX dev costs $0.0038 a megapixel at 28 steps, scaled by pixels × steps × results.
    // No published pricing (the content service is down): what the ledger learned is all there is.
    const env = {
      RUNWARE_STATE_DIR: mkdtempSync(join(tmpdir(), 'rw-spend-')),
      RUNWARE_CONTENT_URL: 'http://127.0.0.1:9/',
    };
    const uncapped = await connect(env);
    // 1024² at 14 steps: $0.0019, which teaches $0.0038 per megapixel at 28 steps.
    const cheap = await uncapped.call('runware_text_to_image', {
      prompt: 'a fox',
      width: 1024,
      height: 1024,
      steps: 14,
    });
    expect(cheap.isError, JSON.stringify(cheap.structuredContent)).toBeFalsy();
    await uncapped.close();
    const c = await connect({ ...env, RUNWARE_MAX_SPEND_USD: '0.05' });
    try {
      // 2048² at 50 steps: 4 MP × 50/28 × $0.0038 = $0.0272 each; the first fits, the second would pass $0.05.
      const big = { prompt: 'a fox', width: 2048, height: 2048, steps: 50 };
      const first = await c.call('runware_text_to_image', big);
      expect(first.isError, JSON.stringify(first.structuredContent)).toBeFalsy();
      expect(first.structuredContent.cost).toBe(0.0272);
      const second = await c.call('runware_text_to_image', big);
      expect(second.isError).toBe(true);
      expect(err(second)).toMatchObject({
        kind: 'policy',
        code: 'spend_cap',
        field: 'RUNWARE_MAX_SPEND_USD',
        quoteUsd: 0.0272,
        capUsd: 0.05,
      });
      // Spent: the cheap run, the capped process's dry-run probe ($0.0001: the simulator ignores the header), the first big run.
      expect(err(second).spentTodayUsd).toBe(0.0292);
      const l = await c.ledger();
      expect(l.overrun).toBe(0);
      expect(l.spent).toBeLessThanOrEqual(0.05 + l.overrun);
    } finally {
      await c.close();
    }
  });

  it('quotes from the published pricing before anything has run, and a batch is reserved in one step', async () => {
    const c = await connect({ RUNWARE_MAX_SPEND_USD: '0.02' });
    try {
      // Four 1024² FLUX dev images at 50 steps: $0.0068 each by the pricing examples; $0.0272 > $0.02.
      const tasks = [1, 2, 3, 4].map(() => ({
        taskType: 'imageInference',
        positivePrompt: 'a heron',
        model: 'runware:101@1',
        width: 1024,
        height: 1024,
        steps: 50,
      }));
      const r = await c.call('runware_request', { tasks });
      expect(r.isError).toBe(true);
      expect(err(r)).toMatchObject({ code: 'spend_cap', quoteUsd: 0.0068 });
      expect(ran()).toBe(0);
      const two = await c.call('runware_request', { tasks: tasks.slice(0, 2) });
      expect(two.isError, JSON.stringify(two.structuredContent)).toBeFalsy();
      const rec = JSON.parse(
        (
          (
            await c.client.readResource({
              uri: `runware://tasks/${(two.structuredContent.tasks as Array<{ taskUUID: string }>)[0]!.taskUUID}`,
            })
          ).contents[0] as { text: string }
        ).text,
      ) as Record<string, unknown>;
      expect(rec.quote).toEqual({ usd: 0.0068, source: 'pricing' });
      const l = await c.ledger();
      expect(l.spent).toBeLessThanOrEqual(0.02 + l.overrun);
    } finally {
      await c.close();
    }
  });
});

describe('a charge above its quote', () => {
  it('is recorded at once as an overrun, reported in the result and the account, and nothing billable goes out after it', async () => {
    // A model with no published pricing, charged $0.50 an image against the $0.10 imageInference ceiling.
    sim().state.prices.set('civitai:4384@128713', 0.5 / ((512 * 768) / 1_048_576));
    const c = await connect({ RUNWARE_MAX_SPEND_USD: '0.35' });
    try {
      const args = { prompt: 'a castle', model: 'civitai:4384@128713', width: 512, height: 768 };
      const first = await c.call('runware_text_to_image', args);
      expect(first.isError, JSON.stringify(first.structuredContent)).toBeFalsy();
      expect(first.structuredContent.overrun).toMatch(
        /^\$0\.40 over: charged \$0\.50 against a reservation of \$0\.10 \(quote source: ceiling\)/,
      );
      const acct = await c.call('runware_account', {});
      expect(acct.structuredContent.overruns).toMatchObject({
        today: 0.4,
        tasks: [{ taskUUID: first.structuredContent.taskUUID, usd: 0.4, source: 'ceiling' }],
      });
      // Over the cap now: every billable call is refused, before anything is sent.
      const again = await c.call('runware_text_to_image', args);
      // $0.50 and the dry-run probe's $0.0001 (the simulator's default ignores the header, so the probe ran).
      expect(err(again)).toMatchObject({ code: 'spend_cap', capUsd: 0.35, spentTodayUsd: 0.5001 });
      const cheap = await c.call('runware_text_to_image', { prompt: 'a dot', width: 128, height: 128, steps: 1 });
      expect(err(cheap)).toMatchObject({ code: 'spend_cap' });
      expect(ran()).toBe(1);
      const l = await c.ledger();
      expect(l).toEqual({ spent: 0.5001, overrun: 0.4 });
      expect(l.spent).toBeLessThanOrEqual(0.35 + l.overrun);
    } finally {
      await c.close();
    }
  });

  it('is reported by the poll that settles an async task', async () => {
    sim().state.prices.set('civitai:4384@128713', 0.5 / ((512 * 768) / 1_048_576));
    const c = await connect({ RUNWARE_MAX_SPEND_USD: '0.35' });
    try {
      const started = await c.call('runware_text_to_image', {
        prompt: 'a castle',
        model: 'civitai:4384@128713',
        width: 512,
        height: 768,
        waitSeconds: 0,
      });
      expect(started.structuredContent).toMatchObject({ status: 'processing' });
      const polled = await c.call('runware_poll', { taskUUID: started.structuredContent.taskUUID, waitSeconds: 20 });
      expect(polled.structuredContent).toMatchObject({
        status: 'success',
        overrun: expect.stringMatching(
          /^\$0\.40 over: charged \$0\.50 against a reservation of \$0\.10 \(quote source: ceiling\)/,
        ),
      });
      const l = await c.ledger();
      expect(l.spent).toBeLessThanOrEqual(0.35 + l.overrun);
    } finally {
      await c.close();
    }
  });

  it('raises the learned bound: the next quote of that model is at least what it really cost per unit', async () => {
    sim().state.prices.set('civitai:4384@128713', 0.2 / ((512 * 768) / 1_048_576));
    const c = await connect({ RUNWARE_MAX_SPEND_USD: '1' });
    try {
      const args = { prompt: 'a castle', model: 'civitai:4384@128713', width: 512, height: 768 };
      expect((await c.call('runware_text_to_image', args)).structuredContent.overrun).toMatch(
        /^\$0\.10 over: .*quote source: ceiling/,
      );
      const second = await c.call('runware_text_to_image', args);
      expect(second.structuredContent.overrun).toBeUndefined();
      const rec = JSON.parse(
        (
          (await c.client.readResource({ uri: `runware://tasks/${String(second.structuredContent.taskUUID)}` }))
            .contents[0] as { text: string }
        ).text,
      ) as Record<string, unknown>;
      expect(rec.quote).toMatchObject({ source: 'learned' });
      expect((rec.quote as { usd: number }).usd).toBeGreaterThanOrEqual(0.2);
    } finally {
      await c.close();
    }
  });
});

describe('confirmation above RUNWARE_CONFIRM_ABOVE_USD', () => {
  const video = { model: 'klingai:5@3', params: { positivePrompt: 'waves', duration: 5 }, waitSeconds: 20 };

  it('absent elicitation: the structured refusal, then confirmCostUsd at the quote goes through', async () => {
    const c = await connect({ RUNWARE_CONFIRM_ABOVE_USD: '0.5', RUNWARE_MAX_SPEND_USD: '5' });
    try {
      const r = await c.call('runware_run', video);
      expect(r.isError).toBe(true);
      expect(err(r)).toEqual({
        kind: 'policy',
        code: 'confirmation_required',
        field: 'confirmCostUsd',
        message: expect.stringMatching(/quoted at \$0\.92/),
        quoteUsd: 0.92,
        spentTodayUsd: 0.0001,
        capUsd: 5,
        next: expect.stringMatching(/confirmCostUsd: 0\.92/),
        nextSteps: [{ action: 'confirmCost', args: { quoteUsd: 0.92 } }],
      });
      expect(
        sim()
          .runwareRequests()
          .filter((e) => !e.headers['x-runware-dry-run'])
          .flatMap((e) => e.body as unknown[]),
      ).toHaveLength(0);
      const low = await c.call('runware_run', { ...video, confirmCostUsd: 0.5 });
      expect(err(low)).toMatchObject({ code: 'confirmation_required' });
      const yes = await c.call('runware_run', { ...video, confirmCostUsd: 0.92 });
      expect(yes.isError, JSON.stringify(yes.structuredContent)).toBeFalsy();
      expect(yes.structuredContent).toMatchObject({ status: 'success', cost: 0.92 });
    } finally {
      await c.close();
    }
  });

  it('elicitation accepted runs it; declined sends nothing', async () => {
    let answer = true;
    const c = await connect(
      { RUNWARE_CONFIRM_ABOVE_USD: '0.5', RUNWARE_MAX_SPEND_USD: '5' },
      { elicit: () => ({ action: 'accept', content: { run: answer } }) },
    );
    try {
      const ok = await c.call('runware_run', video);
      expect(ok.isError, JSON.stringify(ok.structuredContent)).toBeFalsy();
      expect(c.asked[0]).toBe(
        "This videoInference (klingai:5@3) is quoted at $0.92; today's spend is $0.0001 of $5.00. Run it?",
      );
      answer = false;
      const no = await c.call('runware_run', video);
      expect(err(no)).toMatchObject({
        kind: 'policy',
        code: 'confirmation_declined',
        field: 'confirmCostUsd',
        quoteUsd: 0.92,
        spentTodayUsd: 0.9201,
        capUsd: 5,
      });
      expect(c.asked[1]).toMatch(/today's spend is \$0\.9201 of \$5\.00/);
      const l = await c.ledger();
      expect(l.spent).toBe(0.9201);
    } finally {
      await c.close();
    }
  });

  it('a call the cap would refuse is refused as such, without asking to confirm its price', async () => {
    const c = await connect(
      { RUNWARE_CONFIRM_ABOVE_USD: '0.5', RUNWARE_MAX_SPEND_USD: '0.6' },
      { elicit: () => ({ action: 'accept', content: { run: true } }) },
    );
    try {
      const r = await c.call('runware_run', video);
      expect(err(r)).toMatchObject({
        kind: 'policy',
        code: 'spend_cap',
        field: 'RUNWARE_MAX_SPEND_USD',
        quoteUsd: 0.92,
        capUsd: 0.6,
      });
      expect(c.asked).toEqual([]);
      // Nor with confirmCostUsd given: the cap is the answer.
      const again = await c.call('runware_run', { ...video, confirmCostUsd: 0.92 });
      expect(err(again)).toMatchObject({ code: 'spend_cap' });
      expect(
        sim()
          .runwareRequests()
          .filter((e) => !e.headers['x-runware-dry-run'])
          .flatMap((e) => e.body as Array<{ taskType: string }>)
          .filter((t) => t.taskType === 'videoInference'),
      ).toHaveLength(0);
    } finally {
      await c.close();
    }
  });

  it('a cheap task is not asked about', async () => {
    const c = await connect({ RUNWARE_CONFIRM_ABOVE_USD: '0.5' }, { elicit: () => ({ action: 'decline' }) });
    try {
      const r = await c.call('runware_text_to_image', { prompt: 'a fox', width: 512, height: 512 });
      expect(r.isError).toBeFalsy();
      expect(c.asked).toEqual([]);
    } finally {
      await c.close();
    }
  });
});

describe('the dry run, under each answer the API might give', () => {
  const dryRuns = (): number =>
    sim()
      .runwareRequests()
      .filter((e) => e.headers['x-runware-dry-run'] === '1').length;
  const quoteOf = async (c: Awaited<ReturnType<typeof connect>>, r: Result): Promise<{ usd: number; source: string }> =>
    (
      JSON.parse(
        (
          (await c.client.readResource({ uri: `runware://tasks/${String(r.structuredContent.taskUUID)}` }))
            .contents[0] as { text: string }
        ).text,
      ) as { quote: { usd: number; source: string } }
    ).quote;
  const args = { prompt: 'a wren', width: 1024, height: 1024, steps: 28 };

  it('priced: quotes from it after a free probe, cached per model and dimensions', async () => {
    sim().state.options.dryRun = 'priced';
    const c = await connect({ RUNWARE_MAX_SPEND_USD: '1' });
    try {
      const r = await c.call('runware_text_to_image', args);
      expect(await quoteOf(c, r)).toEqual({ usd: 0.0038, source: 'dryRun' });
      expect(dryRuns()).toBe(2);
      await c.call('runware_text_to_image', args);
      expect(dryRuns()).toBe(2);
      // The probe and the dry run were free; only the two runs were charged.
      expect(await c.ledger()).toEqual({ spent: 0.0076, overrun: 0 });
    } finally {
      await c.close();
    }
  });

  it('acknowledged without a price: the probe costs nothing and quotes come from pricing', async () => {
    sim().state.options.dryRun = 'ack';
    const c = await connect({ RUNWARE_MAX_SPEND_USD: '1' });
    try {
      const r = await c.call('runware_text_to_image', args);
      expect((await quoteOf(c, r)).source).toBe('pricing');
      expect(dryRuns()).toBe(1);
      expect(await c.ledger()).toEqual({ spent: 0.0038, overrun: 0 });
    } finally {
      await c.close();
    }
  });

  it('ignored (the task runs): only the reserved probe ran, it was charged, and no task is dry-run after it', async () => {
    const c = await connect({ RUNWARE_MAX_SPEND_USD: '1' });
    try {
      const r = await c.call('runware_text_to_image', args);
      expect((await quoteOf(c, r)).source).toBe('pricing');
      await c.call('runware_text_to_image', { ...args, width: 512 });
      expect(dryRuns()).toBe(1);
      expect(
        sim()
          .runwareRequests()
          .filter((e) => e.headers['x-runware-dry-run'] === '1')
          .flatMap((e) => e.body as Array<{ taskType: string }>)
          .map((t) => t.taskType),
      ).toEqual(['promptEnhance']);
      expect(await c.ledger()).toEqual({ spent: 0.0001 + 0.0038 + 0.0019, overrun: 0 });
    } finally {
      await c.close();
    }
  });

  it('what the probe found is shared: another process on the same journal does not probe (or pay) again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-dryrun-'));
    for (const [mode, after] of [
      ['ignored', 1],
      ['priced', 3],
    ] as const) {
      sim().state.reset();
      sim().state.options.dryRun = mode;
      const env = { RUNWARE_MAX_SPEND_USD: '1', RUNWARE_STATE_DIR: join(dir, mode) };
      const first = await connect(env);
      await first.call('runware_text_to_image', args).finally(() => first.close());
      const second = await connect(env);
      try {
        const r = await second.call('runware_text_to_image', args);
        expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
        // ignored: the one probe of the first process; priced: its probe and dry run, then the second's dry run only.
        expect(dryRuns(), mode).toBe(after);
        expect(
          sim()
            .runwareRequests()
            .filter((e) => e.headers['x-runware-dry-run'] === '1')
            .flatMap((e) => e.body as Array<{ taskType: string }>)
            .filter((t) => t.taskType === 'promptEnhance'),
        ).toHaveLength(1);
      } finally {
        await second.close();
      }
    }
  });
});

describe('a killed sender does not hold the cap (#24)', () => {
  it('releases a reservation whose lease expired and that Runware does not know; a late charge is an overrun', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-lease-'));
    // The "killed" process: admitted a $0.348 task and died before sending it.
    const dead = new Journal({
      open: async () => SqliteState.open(join(dir)),
      logger: new Logger('error'),
      maxSpendUsd: 0.35,
      leaseMs: 60_000,
    });
    const lost = ledgerTask({
      taskType: 'imageInference',
      taskUUID: '9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d',
      model: 'runware:101@1',
      positivePrompt: 'lost',
    });
    await dead.admit([lost], [], {
      quotes: new Map([[lost.taskUUID, { usd: 0.348, units: 1, source: 'pricing', how: 'test' }]]),
    });
    await dead.close();
    const c = await connect({ RUNWARE_STATE_DIR: dir, RUNWARE_MAX_SPEND_USD: '0.35' });
    try {
      // While its lease lives, the reservation holds: a $0.0038 image does not fit beside it (nor does the dry-run probe).
      expect(err(await c.call('runware_text_to_image', { prompt: 'a fox', width: 1024, height: 1024 }))).toMatchObject({
        code: 'spend_cap',
        spentTodayUsd: 0.348,
      });
      // Its lease ran out, and the settle window passed (the clock moved by rewriting the ledger's times).
      const db = new Database(join(dir, 'journal.sqlite'));
      db.prepare('UPDATE holders SET until = 0').run();
      db.prepare('UPDATE ledger SET at = at - 3600000 WHERE uuid = ?').run(lost.taskUUID);
      db.close();
      const r = await c.call('runware_text_to_image', { prompt: 'a fox', width: 1024, height: 1024 });
      expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
      expect(await c.ledger()).toEqual({ spent: 0.0038, overrun: 0 });
      // The task billed after all (it had gone out): the charge is recorded at once, as an overrun of a released reservation.
      const late = new Journal({
        open: async () => SqliteState.open(dir),
        logger: new Logger('error'),
        maxSpendUsd: 0.35,
      });
      const { overrun: over } = await late.recordOutcome(
        lost,
        outcomeRecord({
          taskUUID: lost.taskUUID,
          status: 'success',
          results: [{ taskUUID: lost.taskUUID, taskType: 'imageInference', imageURL: 'https://x/y.jpg', cost: 0.348 }],
          errors: [],
          attempts: [],
        }),
      );
      await late.close();
      expect(over).toMatchObject({ taskUUID: lost.taskUUID, usd: 0.348, reservedUsd: 0, source: 'released' });
      const l = await c.ledger();
      expect(l).toEqual({ spent: 0.3518, overrun: 0.348 });
      expect(l.spent).toBeLessThanOrEqual(0.35 + l.overrun);
    } finally {
      await c.close();
    }
  });
});
