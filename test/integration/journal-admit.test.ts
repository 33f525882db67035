/**
 * When the journal records a call's taskUUIDs: before the send when it must
 * (a cost to reserve, a record, a caller's UUID), else while the request is in
 * flight, and always before the result is returned.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RestTransport } from '../../src/runware/rest.js';
import { RunwareClient } from '../../src/runware/client.js';
import { Rules } from '../../src/runware/rules.js';
import { Logger } from '../../src/shared/log.js';
import { Journal } from '../../src/state/journal.js';
import { ledgerTask } from '../../src/runware/ledger-records.js';
import { SqliteState } from '../../src/state/sqlite.js';
import type { StateStore } from '../../src/state/types.js';
import { CANARY, useSim } from '../helpers.js';

const sim = useSim();

function client(open: () => Promise<StateStore>, order: string[] = []) {
  const logger = new Logger('error');
  const journal = new Journal({ open, logger, maxSpendUsd: undefined });
  const transport = new RestTransport({
    url: sim().info.runwareUrl,
    apiKey: CANARY.apiKey,
    userAgent: 'test',
    headersTimeoutMs: 5000,
  });
  const send = transport.send.bind(transport);
  transport.send = (...a: Parameters<typeof send>) => (order.push('send'), send(...a));
  const c = new RunwareClient({
    transport,
    rules: new Rules(),
    logger,
    journal,
    retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20, budgetMs: 5000 },
  });
  return { c, journal };
}

describe('the journal admission', () => {
  it("records a free task's server-made UUID by the time the result is back, and sends before it", async () => {
    const state = SqliteState.open(mkdtempSync(join(tmpdir(), 'rw-admit-')));
    const order: string[] = [];
    const spied: StateStore = Object.assign(Object.create(state) as StateStore, {
      admit: async (b: Parameters<StateStore['admit']>[0]) => {
        order.push('claim');
        return state.admit(b);
      },
    });
    const { c, journal } = client(async () => spied, order);
    await journal.state();
    const r = await c.submit({ taskType: 'modelSearch', search: 'flux' });
    const uuid = r.tasks[0]!.taskUUID;
    expect(await state.hasUuid(uuid)).toBe(true);
    // The request was on its way when the claim ran; a billable task is claimed first.
    expect(order).toEqual(['send', 'claim']);
    order.length = 0;
    await c.submit({
      taskType: 'imageInference',
      positivePrompt: 'a lighthouse',
      model: 'runware:101@1',
      width: 512,
      height: 512,
    });
    expect(order.slice(0, 2)).toEqual(['claim', 'send']);
  });

  it('claims first where it must: a caller UUID, a billable task', async () => {
    const state = SqliteState.open(mkdtempSync(join(tmpdir(), 'rw-admit-')));
    const { c, journal } = client(async () => state);
    const j = journal as unknown as { mustAdmitFirst: Journal['mustAdmitFirst'] };
    expect(j.mustAdmitFirst([ledgerTask({ taskType: 'modelSearch', taskUUID: 'u' })], [])).toBe(false);
    expect(j.mustAdmitFirst([ledgerTask({ taskType: 'modelSearch', taskUUID: 'u' })], ['u'])).toBe(true);
    expect(j.mustAdmitFirst([ledgerTask({ taskType: 'imageInference', taskUUID: 'u' })], [])).toBe(true);
    // A used caller UUID is refused before anything is sent.
    const used = '3b241101-e2bb-4255-8caf-4136c566a962';
    await state.claimUuids([used], []);
    const sent = sim().state.log.length;
    await expect(c.submit({ taskType: 'modelSearch', search: 'flux', taskUUID: used })).rejects.toThrow(/already used/);
    expect(sim().state.log.length).toBe(sent);
  });

  it('a journal that fails to record a free task costs the caller nothing', async () => {
    const state = SqliteState.open(mkdtempSync(join(tmpdir(), 'rw-admit-')));
    const broken: StateStore = Object.assign(Object.create(state) as StateStore, {
      admit: async () => Promise.reject(new Error('disk gone')),
    });
    const { c } = client(async () => broken);
    const r = await c.submit({ taskType: 'modelSearch', search: 'flux' });
    expect(r.tasks[0]!.status).toBe('success');
  });
});
