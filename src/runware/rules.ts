/**
 * The Runware usage rules, enforced before anything is sent:
 * - every task carries a fresh UUID v4 made here (a caller's is accepted only
 *   if it is a v4 never seen before); the reads (getResponse, getTaskDetails)
 *   alone name an earlier UUID;
 * - no `apiKey` field, no `authentication` task, no secret value anywhere;
 * - no prototype-polluting keys, no oversize or absurdly deep payloads;
 * - known task types are checked field by field.
 */
import { v4 as uuidv4, validate as uuidValidate, version as uuidVersion } from 'uuid';
import { PolicyError, ValidationError } from '../shared/errors.js';
import { scrubber } from '../shared/redact.js';
import { next, step } from '../shared/next-step.js';
import { genericTask } from './tasks/index.js';
import { isReadType, KNOWN_TASK_TYPES, strictSchemaOf, type ReadTaskType } from './task-types.js';
import { parseOrThrow } from './tasks/common.js';

export type Task = Record<string, unknown> & { taskType: string; taskUUID: string };

export const DEFAULT_MAX_PAYLOAD_BYTES = 8 * 1024 * 1024;
export const MAX_DEPTH = 32;
export const MAX_TASKS_PER_REQUEST = 50;

/** Whether a task type is a read (getResponse, getTaskDetails): they name an earlier task's UUID and run nothing (task-types.ts). */
export { isReadType };

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Cyrillic and Greek letters that look like Latin ones (NFKC does not fold them). */
const CONFUSABLES: Record<string, string> = {
  а: 'a',
  е: 'e',
  о: 'o',
  р: 'p',
  с: 'c',
  у: 'y',
  х: 'x',
  і: 'i',
  ј: 'j',
  ѕ: 's',
  к: 'k',
  т: 't',
  н: 'h',
  м: 'm',
  в: 'b',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  α: 'a',
  ε: 'e',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  κ: 'k',
  ι: 'i',
  ν: 'v',
};

/** A field name as the policy compares it: NFKC, lookalikes folded, lower case, no separators or invisible joiners. */
export function normalizeFieldName(name: string): string {
  return [...name.normalize('NFKC').toLowerCase()]
    .map((c) => CONFUSABLES[c] ?? c)
    .join('')
    .replace(/[\s._\-:/\\\u200b-\u200f\u2060\ufeff\u00ad]+/g, '');
}

const CREDENTIAL_NAMES = new Set([
  'apikey',
  'apikeys',
  'xapikey',
  'authorization',
  'proxyauthorization',
  'token',
  'accesstoken',
  'authtoken',
  'apitoken',
  'bearertoken',
  'secret',
  'clientsecret',
  'password',
  'passwd',
]);

/** Whether a field name looks like a credential, however it is spelled. */
/** Verdicts on field names seen, since payloads repeat a small vocabulary (NFKC per key is the costly part). */
const credentialVerdicts = new Map<string, boolean>();
const MAX_REMEMBERED_NAMES = 4096;

export function isCredentialName(name: string): boolean {
  const known = credentialVerdicts.get(name);
  if (known !== undefined) return known;
  const n = normalizeFieldName(name);
  const verdict = CREDENTIAL_NAMES.has(n) || n.endsWith('apikey') || n.endsWith('apikeys');
  if (name.length <= 64) {
    if (credentialVerdicts.size >= MAX_REMEMBERED_NAMES) credentialVerdicts.clear();
    credentialVerdicts.set(name, verdict);
  }
  return verdict;
}

export function isUuidV4(s: unknown): s is string {
  return typeof s === 'string' && uuidValidate(s) && uuidVersion(s) === 4;
}

/**
 * Every taskUUID this process has made or accepted. UUIDs are 16 bytes of
 * entropy; a long-lived server keeps a few MB per hundred thousand tasks.
 */
export class UuidRegistry {
  private readonly seen = new Set<string>();
  private max = Infinity;

  /**
   * Keeps only the most recent `n` in memory. Called once the journal is open:
   * it then remembers every UUID across processes, so memory per task is O(1).
   */
  limit(n: number): void {
    this.max = n;
    this.trim();
  }

  private add(u: string): void {
    this.seen.add(u);
    if (this.seen.size > this.max) this.trim();
  }

  private trim(): void {
    for (const u of this.seen) {
      if (this.seen.size <= this.max) break;
      this.seen.delete(u);
    }
  }

  /** A fresh v4 that has never been used by this process. */
  fresh(): string {
    for (;;) {
      const u = uuidv4();
      if (!this.seen.has(u)) {
        this.add(u);
        return u;
      }
    }
  }

  /** Throws, naming the field, unless `uuid` is a v4 never used; claims nothing. */
  check(uuid: unknown, field: string): string {
    if (typeof uuid !== 'string' || !isUuidV4(uuid)) {
      throw new ValidationError(
        field,
        'must be a UUID v4, or omitted so the server makes one',
        'a never-used UUID v4, or nothing',
      );
    }
    const u = uuid.toLowerCase();
    if (this.seen.has(u)) {
      throw new PolicyError(
        field,
        `taskUUID ${u} was already used; every task needs a fresh UUID`,
        next('Omit taskUUID and the server assigns a fresh one; to fetch an earlier task use {step}.', step('poll')),
      );
    }
    return u;
  }

  /** Accepts a caller-supplied UUID once, or throws naming the field. */
  claim(uuid: unknown, field: string): string {
    const u = this.check(uuid, field);
    this.add(u);
    return u;
  }

  has(uuid: string): boolean {
    return this.seen.has(uuid.toLowerCase());
  }

  get size(): number {
    return this.seen.size;
  }
}

export interface RulesOptions {
  maxPayloadBytes?: number;
}

/** Where a value sits in the payload, spelled out only when an error names it. */
type At = string | { up: At; key: string | number };
function pathOf(at: At): string {
  if (typeof at === 'string') return at;
  const up = pathOf(at.up);
  return typeof at.key === 'number' ? `${up}[${at.key}]` : up ? `${up}.${at.key}` : at.key;
}

/** Walks the payload and refuses forbidden keys and excessive depth, naming the path. */
/** The payload's text in JSON's order: its values alone, and its values with the keys that name them. */
interface Texts {
  values: string[];
  withKeys: string[];
}

function checkStructure(value: unknown, at: At, depth: number, texts: Texts): void {
  if (depth > MAX_DEPTH)
    throw new ValidationError(
      pathOf(at),
      `nests deeper than the limit of ${MAX_DEPTH} levels`,
      `at most ${MAX_DEPTH} levels of objects and arrays`,
    );
  if (typeof value === 'string' || typeof value === 'number') {
    // Numbers too: a key's digits can travel as one ("sk_1234", 56789012, "34ab").
    texts.values.push(String(value));
    texts.withKeys.push(String(value));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkStructure(value[i], { up: at, key: i }, depth + 1, texts);
    return;
  }
  for (const key of Object.keys(value)) {
    const here: At = { up: at, key };
    if (FORBIDDEN_KEYS.has(key))
      throw new PolicyError(
        pathOf(here),
        `the key "${key}" is not allowed in a payload`,
        'Remove it; it is never a Runware field.',
      );
    if (isCredentialName(key))
      throw new PolicyError(
        pathOf(here),
        'credentials never travel in the payload (this name looks like one); the server authenticates with an Authorization header',
        'Remove the field; the key comes from RUNWARE_API_KEY.',
      );
    // Keys too, in JSON's order: a key's halves can be a field's name and its value.
    texts.withKeys.push(key);
    checkStructure((value as Record<string, unknown>)[key], here, depth + 1, texts);
  }
}

export class Rules {
  readonly uuids = new UuidRegistry();
  private readonly maxPayloadBytes: number;

  constructor(opts: RulesOptions = {}) {
    this.maxPayloadBytes = opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  }

  /**
   * Checks a task array (or one task) and returns copies with taskUUIDs
   * assigned. Throws ValidationError/PolicyError; nothing has been sent then.
   */
  prepare(input: unknown, prefix = 'tasks'): Task[] {
    const checked = this.inspect(input, prefix);
    return checked.map((t, i) => {
      const field = `${prefix}[${i}].taskUUID`;
      if (isReadType(t.taskType as string)) return { ...t, taskUUID: String(t.taskUUID).toLowerCase() } as Task;
      const taskUUID = t.taskUUID === undefined ? this.uuids.fresh() : this.uuids.claim(t.taskUUID, field);
      return { ...t, taskUUID } as Task;
    });
  }

  /**
   * Every check of `prepare`, claiming nothing: for a caller that must know a
   * task will pass before it sends anything else (uploads of its inputs, say).
   */
  inspect(input: unknown, prefix = 'tasks'): Array<Record<string, unknown>> {
    const list = Array.isArray(input) ? input : [input];
    if (list.length === 0) throw new ValidationError(prefix, 'must hold at least one task');
    if (list.length > MAX_TASKS_PER_REQUEST)
      throw new ValidationError(prefix, `at most ${MAX_TASKS_PER_REQUEST} tasks per request`);
    // Named first, so an authentication task is refused as such rather than for its apiKey.
    list.forEach((t, i) => {
      if (t && typeof t === 'object' && (t as Record<string, unknown>).taskType === 'authentication') {
        throw new PolicyError(
          `${prefix}[${i}].taskType`,
          'authentication tasks are not allowed; the server authenticates by itself',
          'Remove the authentication task.',
        );
      }
    });
    // Structure next: depth is named as such, before serialising could overflow.
    const texts: Texts = { values: [], withKeys: [] };
    checkStructure(list, prefix, 0, texts);
    let json: string;
    try {
      json = JSON.stringify(list);
    } catch {
      throw new ValidationError(prefix, 'must be plain JSON (no BigInt, functions or cycles)');
    }
    const bytes = Buffer.byteLength(json);
    if (bytes > this.maxPayloadBytes) {
      throw new ValidationError(
        prefix,
        `payload is ${bytes} bytes, over the ${this.maxPayloadBytes}-byte limit`,
        'upload large images first (mediaStorage) and pass their UUID or URL',
      );
    }
    // A secret split across fields shows when the values (or the keys and values) are joined; one broken
    // into lines (base64 as MIME wraps it), when the whitespace is squeezed out.
    const joined = texts.values.join('');
    const squeezed = joined.replace(/\s+/g, '');
    if (
      scrubber.containsSecret(json) ||
      scrubber.containsSecret(joined) ||
      scrubber.containsSecret(texts.withKeys.join('')) ||
      (squeezed.length !== joined.length && scrubber.containsSecret(squeezed))
    ) {
      throw new PolicyError(
        prefix,
        'the payload contains a configured secret (an API key or token value)',
        'Remove the secret; the server authenticates by itself.',
      );
    }

    // Validate every task, and every caller UUID, before claiming any: a refused batch spends nothing.
    const checked = list.map((raw, i) => this.check(raw, `${prefix}[${i}]`));
    const seenHere = new Set<string>();
    checked.forEach((t, i) => {
      if (isReadType(t.taskType as string) || t.taskUUID === undefined) return;
      const field = `${prefix}[${i}].taskUUID`;
      const u = this.uuids.check(t.taskUUID, field);
      if (seenHere.has(u))
        throw new PolicyError(
          field,
          `taskUUID ${u} appears twice in this request; every task needs its own`,
          'Omit taskUUID and the server assigns a fresh one.',
        );
      seenHere.add(u);
    });
    return checked;
  }

  /** A getResponse task for an earlier UUID: a read, so it reuses the UUID it names. */
  getResponse(taskUUID: string): Task {
    return this.read('getResponse', taskUUID);
  }

  /** A getTaskDetails task for an earlier UUID (any task, sync or async): a read too. */
  getTaskDetails(taskUUID: string): Task {
    return this.read('getTaskDetails', taskUUID);
  }

  private read(taskType: ReadTaskType, taskUUID: string): Task {
    // No prefix: the field is the caller's own taskUUID, not a task inside it.
    const t = this.check({ taskType, taskUUID }, '') as Task;
    return { ...t, taskUUID: t.taskUUID.toLowerCase() };
  }

  /** A copy of `task` with a fresh UUID, for resending a task that did not run. */
  withFreshUuid(task: Task): Task {
    return { ...task, taskUUID: this.uuids.fresh() };
  }

  private check(raw: unknown, path: string): Record<string, unknown> {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      throw new ValidationError(path, 'must be a task object with a taskType');
    const t = raw as Record<string, unknown>;
    if (typeof t.taskType !== 'string' || t.taskType.length === 0) {
      throw new ValidationError(`${path}.taskType`, 'is required', KNOWN_TASK_TYPES.join(', '));
    }
    if (!(KNOWN_TASK_TYPES as readonly string[]).includes(t.taskType)) {
      throw new ValidationError(`${path}.taskType`, `unknown task type "${t.taskType}"`, KNOWN_TASK_TYPES.join(', '));
    }
    const schema = strictSchemaOf(t.taskType) ?? genericTask;
    return parseOrThrow(schema, t, path) as Record<string, unknown>;
  }
}
