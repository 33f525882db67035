/**
 * A task's finished results as they come (a batch's first before its last), for
 * a caller that saves each one at once. Every poll shows a result again, and a
 * WebSocket may repeat a frame, so each is told once per call; and only a
 * result of the task itself (its taskUUID and taskType, as every answer is
 * matched) is told at all.
 */
import type { DataItem } from './errors.js';
import { resultKey } from './poll.js';
import type { Task } from './rules.js';
import { isFinished, itemsFor } from './verdicts.js';

export type OnResult = (item: DataItem) => void;

/** The caller's listener, told of each result once; one that throws never breaks the wait. */
export function oncePerResult(onResult: OnResult): OnResult {
  const seen = new Set<string>();
  return (item) => {
    const key = resultKey(item);
    if (seen.has(key)) return;
    seen.add(key);
    try {
      onResult(item);
    } catch {
      // A listener's failure is its own.
    }
  };
}

/** Only the finished results of `task` reach `onResult`; without its type (another process's task), its UUID alone. */
export function resultsOf(task: { taskUUID: string; taskType?: string }, onResult: OnResult): OnResult {
  return (item) => {
    if (!isFinished(item, task.taskType)) return;
    const mine = task.taskType
      ? itemsFor(task as Task, { data: [item], errors: [] }).items.length === 1
      : item.taskUUID === task.taskUUID;
    if (mine) onResult(item);
  };
}
