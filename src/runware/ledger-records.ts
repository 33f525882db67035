/**
 * The client's tasks and outcomes as the ledger takes them (src/state/ledger.ts):
 * plain records, with the task-type facts (task-types.ts) read and Runware's
 * result items parsed here, so the state layer never reads an answer.
 */
import type { CallRecord, LedgerTask, OutcomeRecord } from '../state/ledger.js';
import type { JournalOutput, JournalStatus } from '../state/types.js';
import type { ApiErrorItem, DataItem } from './errors.js';
import type { Task } from './rules.js';
import { scrubber } from '../shared/redact.js';
import { isBillable, isKept, MEDIA_KINDS, outputFiles, resultCount } from './task-types.js';

export type { CallRecord };

export function ledgerTask(t: Task): LedgerTask {
  return {
    taskUUID: t.taskUUID,
    taskType: t.taskType,
    billable: isBillable(t.taskType),
    kept: isKept(t.taskType),
    ...(typeof t.model === 'string' ? { model: t.model } : {}),
    ...(t.deliveryMethod === 'async' || t.deliveryMethod === 'sync' ? { delivery: t.deliveryMethod } : {}),
    numberResults: resultCount(t),
    request: t,
  };
}

/** Where a result's output lives, for the journal (URLs, UUIDs, expiry). */
export function outputsOf(results: DataItem[]): JournalOutput[] {
  const out: JournalOutput[] = [];
  for (const r of results) {
    if (!r || typeof r !== 'object') continue;
    const files = outputFiles(r) as Array<Record<string, unknown>> | undefined;
    if (files) {
      for (const f of files)
        if (f && typeof f.url === 'string')
          out.push({
            url: scrubber.text(f.url),
            ...(typeof f.uuid === 'string' ? { uuid: scrubber.text(f.uuid) } : {}),
            kind: '3d',
          });
      continue;
    }
    for (const kind of MEDIA_KINDS) {
      const url = r[`${kind}URL`];
      const uuid = r[`${kind}UUID`];
      if (typeof url === 'string' || typeof uuid === 'string') {
        out.push({
          // Upstream text, kept on disk: a secret it echoes is not (scrubbed as every answer shown is).
          ...(typeof url === 'string' ? { url: scrubber.text(url) } : {}),
          ...(typeof uuid === 'string' ? { uuid: scrubber.text(uuid) } : {}),
          kind,
          ...(typeof r.expiresAt === 'string' ? { expiresAt: r.expiresAt } : {}),
        });
        break;
      }
    }
    if (typeof r.text === 'string') out.push({ kind: 'text' });
  }
  return out;
}

/** What the client knows of an outcome: its results and errors as Runware gave them. */
export interface ClientOutcome {
  taskUUID: string;
  status: JournalStatus | 'processing';
  results: DataItem[];
  errors: ApiErrorItem[];
  /** Undefined: the lineage as the ledger recorded it (a poll knows no attempts of its own). */
  attempts?: Array<{ taskUUID: string; outcome: string }>;
}

/** A charge as Runware states it: a finite amount, never below zero (a negative one would lower the day's spend under the cap). */
const isCharge = (c: unknown): c is number => typeof c === 'number' && Number.isFinite(c) && c >= 0;

export function outcomeRecord(o: ClientOutcome): OutcomeRecord {
  const costs = o.results.map((r) => r?.cost).filter(isCharge);
  return {
    taskUUID: o.taskUUID,
    status: o.status,
    outputs: outputsOf(o.results),
    ...(costs.length ? { cost: Math.round(costs.reduce((a, b) => a + b, 0) * 1e6) / 1e6 } : {}),
    // Never settled at 0 because a field is missing: a result without its cost keeps its reservation (the estimate) as spent.
    costKnown: o.results.length > 0 && o.results.every((x) => isCharge(x?.cost)),
    errors: o.errors.map((e) => ({ code: e.code, message: e.message })),
    ...(o.attempts ? { attempts: o.attempts } : {}),
  };
}
