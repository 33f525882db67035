/**
 * The simulated Runware REST API, written from the protocol reference (not
 * from the client): auth, task validation, sync and async delivery, cumulative
 * getResponse, conflictTaskUUID, modelSearch, and a few utility tasks.
 */
import { reported, simPricePerResult } from './pricing.js';
import { randomInt, randomUUID } from 'node:crypto';
import { CATALOG } from './catalog.js';
import { SCHEMAS, schemaFor } from './schemas.js';
import { EXT, MIME, renderImage, type SimFormat } from './images.js';
import { PLAYABLE_WEBM } from './video.js';
import type { Fault, SimState } from './state.js';

type Item = Record<string, unknown>;
interface ApiError {
  code: string;
  message: string;
  parameter?: string;
  taskType?: string;
  taskUUID?: string;
}

interface Job {
  uuid: string;
  taskType: string;
  startedAt: number;
  durationMs: number;
  results: Item[];
  async: boolean;
  error?: ApiError;
}

/**
 * What the API remembers of a taskUUID from the moment it receives it: the
 * request, and once it has one, the response. getTaskDetails reads this.
 */
interface Received {
  request: Item[];
  receivedAt: number;
  /** getTaskDetails queries answered so far (for the lag switch). */
  detailsQueries?: number;
  job?: Job;
  /** Set when the task was refused or failed before running (task-scoped errors). */
  errors?: ApiError[];
}

/** Formats the simulator hosts besides images: tiny files with the right magic bytes. */
export type SimFileFormat = 'MP4' | 'WEBM' | 'MP3' | 'WAV' | 'GLB';

export interface MediaEntry {
  format: SimFormat | SimFileFormat;
  /** Bytes stored by mediaStorage, served as they came. */
  bytes?: Buffer;
  mime?: string;
  width: number;
  height: number;
  seed: number;
}

/** Jobs and media kept for getResponse and downloads; the oldest go first (a long --simulate session stays bounded). */
const KEEP = 500;

function capped<K, V>(map: Map<K, V>): void {
  while (map.size > KEEP) map.delete(map.keys().next().value as K);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const AIRISH = /^[^:\s]+:[^@\s]+@[^\s]+$/;
const SIMULATED = new Set([
  'imageInference',
  'modelSearch',
  'getResponse',
  'getTaskDetails',
  'ping',
  'promptEnhance',
  'accountManagement',
  'caption',
  'imageCaption',
  'videoInference',
  'removeBackground',
  'imageBackgroundRemoval',
  'upscale',
  'imageUpscale',
  'audioInference',
  '3dInference',
  'mediaStorage',
  'imageUpload',
]);

/** What each output format's file is called and served as. */
export const FILE_EXT: Record<SimFileFormat, { ext: string; mime: string }> = {
  MP4: { ext: 'mp4', mime: 'video/mp4' },
  WEBM: { ext: 'webm', mime: 'video/webm' },
  MP3: { ext: 'mp3', mime: 'audio/mpeg' },
  WAV: { ext: 'wav', mime: 'audio/wav' },
  GLB: { ext: 'glb', mime: 'model/gltf-binary' },
};

/** Minimal files that media tools recognise by their magic bytes. */
export function renderFile(format: SimFileFormat): Buffer {
  switch (format) {
    case 'MP4':
      return Buffer.from([
        0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 0, 0, 2, 0, 0x69, 0x73, 0x6f, 0x6d, 0x6d, 0x70,
        0x34, 0x31,
      ]);
    case 'WEBM':
      return PLAYABLE_WEBM;
    case 'MP3':
      return Buffer.concat([
        Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x00', 'latin1'),
        Buffer.from([0xff, 0xfb, 0x90, 0x64]),
        Buffer.alloc(413),
      ]);
    case 'WAV': {
      const b = Buffer.alloc(44 + 800);
      b.write('RIFF', 0, 'latin1');
      b.writeUInt32LE(36 + 800, 4);
      b.write('WAVEfmt ', 8, 'latin1');
      b.writeUInt32LE(16, 16);
      b.writeUInt16LE(1, 20);
      b.writeUInt16LE(1, 22);
      b.writeUInt32LE(8000, 24);
      b.writeUInt32LE(8000, 28);
      b.writeUInt16LE(1, 32);
      b.writeUInt16LE(8, 34);
      b.write('data', 36, 'latin1');
      b.writeUInt32LE(800, 40);
      return b;
    }
    case 'GLB': {
      const json = Buffer.from('{"asset":{"version":"2.0"}}  ', 'utf8');
      const h = Buffer.alloc(20);
      h.write('glTF', 0, 'latin1');
      h.writeUInt32LE(2, 4);
      h.writeUInt32LE(20 + json.length, 8);
      h.writeUInt32LE(json.length, 12);
      h.write('JSON', 16, 'latin1');
      return Buffer.concat([h, json]);
    }
  }
}

/** Task types that take a model, and the equivalent names a model's registry entry may use. */
const SAME_TASK: Record<string, string> = {
  imageUpscale: 'upscale',
  imageBackgroundRemoval: 'removeBackground',
  imageCaption: 'caption',
};

/**
 * The API runs only models it has: an unknown AIR is a task error, as is a
 * model asked to do what it does not (a video model for an image, a LoRA as
 * the base model).
 */
function checkModel(task: Item, taskType: string): void {
  const model = task.model;
  if (
    typeof model !== 'string' ||
    ['modelSearch', 'mediaStorage', 'imageUpload', 'accountManagement', 'promptEnhance'].includes(taskType)
  )
    return;
  if (!AIRISH.test(model)) fail('invalidModel', `"${model}" is not an AIR id.`, 'model');
  const kind = SAME_TASK[taskType] ?? taskType;
  const curated = SCHEMAS.find((e) => e.air === model);
  if (curated) {
    if (curated.taskType !== kind)
      fail('invalidModel', `${model} runs ${curated.taskType} tasks, not ${taskType}.`, 'model');
    return;
  }
  const community = CATALOG.find((m) => m.air === model);
  if (!community)
    fail('invalidModel', `Model ${model} does not exist or is not available. Find one with modelSearch.`, 'model');
  if (community!.category !== 'checkpoint')
    fail(
      'invalidModel',
      `${model} is a ${community!.category}, not a base model; use it with a checkpoint (e.g. in lora).`,
      'model',
    );
  if (kind !== 'imageInference')
    fail('invalidModel', `${model} is an image checkpoint; it runs imageInference tasks, not ${taskType}.`, 'model');
}

class TaskFailure extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
  }
}

/**
 * Hostile mode: the key as other encoders spell it (hex, base64 off its alignment, in a URL, in JSON of JSON, halved,
 * percent-encoded byte by byte in mixed-case hex, as HTML references).
 */
export function keyInOddSpellings(key: string): string {
  const bytes = [...Buffer.from(key)];
  return [
    Buffer.from(key).toString('hex').toUpperCase(),
    Buffer.from(`:${key}`).toString('base64url'),
    `https://runware.test/v1?key=${encodeURIComponent(key)}&x=1`,
    JSON.stringify(JSON.stringify({ auth: key })),
    `${key.slice(0, key.length >> 1)} / ${key.slice(key.length >> 1)}`,
    bytes.map((b, i) => `%${i % 2 ? b.toString(16).toUpperCase() : b.toString(16)}`).join(''),
    bytes.map((b) => `&#${b};`).join(''),
  ].join('; ');
}

const fail = (code: string, message: string, parameter?: string): never => {
  throw new TaskFailure({ code, message, ...(parameter ? { parameter } : {}) });
};

export class RunwareSim {
  readonly jobs = new Map<string, Job>();
  readonly media = new Map<string, MediaEntry>();
  readonly received = new Map<string, Received>();

  constructor(
    private readonly state: SimState,
    private readonly baseUrl: () => string,
  ) {
    state.onReset(() => {
      this.jobs.clear();
      this.received.clear();
    });
  }

  /** Authenticates by Bearer header or a leading authentication task. */
  authenticate(header: string | undefined, tasks: Item[]): ApiError | undefined {
    const key = this.state.credentials.apiKey;
    const bearer = header?.match(/^Bearer\s+(.+)$/i)?.[1];
    const authTask = tasks[0]?.taskType === 'authentication' ? tasks[0] : undefined;
    const given = bearer ?? (typeof authTask?.apiKey === 'string' ? authTask.apiKey : undefined);
    if (given === undefined)
      return {
        code: 'missingApiKey',
        message: 'Missing API key. Send Authorization: Bearer <key> or an authentication task.',
        parameter: 'apiKey',
        taskType: 'authentication',
      };
    if (given !== key)
      return {
        code: 'invalidApiKey',
        message: 'Invalid API key. Get a valid key from the dashboard.',
        parameter: 'apiKey',
        taskType: 'authentication',
      };
    return undefined;
  }

  /**
   * Runs a task array; resolves when every sync task is done. Tasks are
   * received (and visible to getTaskDetails) first; `delayMs` then passes
   * before they run, as a queue would.
   */
  async handle(
    tasks: Item[],
    fault: Fault | undefined,
    delayMs = 0,
    /** WebSocket: results ready while later ones are held (SimState.hold) go out at once, not with the answer. */
    early?: (items: Item[]) => void,
  ): Promise<{ data: Item[]; errors: ApiError[] }> {
    const data: Item[] = [];
    const errors: ApiError[] = [];
    const admitted: Array<{ task: Item; index: number; taskType: string; taskUUID: string }> = [];
    tasks.forEach((task, index) => {
      if (!task || typeof task !== 'object' || task.taskType === 'authentication') return;
      const taskType = String(task.taskType ?? '');
      const taskUUID = typeof task.taskUUID === 'string' ? task.taskUUID : undefined;
      const scope = { taskType, ...(taskUUID ? { taskUUID } : {}) };
      try {
        if (taskType === 'ping') {
          data.push({ taskType: 'ping', pong: true, ...(taskUUID ? { taskUUID } : {}) });
          return;
        }
        if (!taskUUID) fail('missingTaskUUID', 'taskUUID is required.', 'taskUUID');
        if (!UUID.test(taskUUID!)) fail('invalidTaskUUID', 'taskUUID must be a UUID v4.', 'taskUUID');
        if (taskType === 'getResponse' || taskType === 'getTaskDetails') {
          const r = taskType === 'getResponse' ? this.getResponse(taskUUID!) : this.getTaskDetails(taskUUID!);
          data.push(...r.data);
          errors.push(...r.errors);
          return;
        }
        if (this.state.known.has(taskUUID!)) {
          const reuse = this.state.options.reusedUuid;
          const msg = `A task with taskUUID ${taskUUID} already exists; each task needs a unique UUID.`;
          if (reuse === 'conflictNoUuid')
            throw new TaskFailure({ code: 'conflictTaskUUID', message: msg, parameter: 'taskUUID' });
          if (reuse === 'conflict') fail('conflictTaskUUID', msg, 'taskUUID');
          // runsAgain: the API does not look; the task is run (and billed) once more.
        }
        if (!SIMULATED.has(taskType))
          fail('unsupportedTaskType', `The simulator does not implement ${taskType}.`, 'taskType');
        this.state.known.add(taskUUID!);
        this.received.set(taskUUID!, { request: [{ ...task }], receivedAt: Date.now() });
        capped(this.received);
        admitted.push({ task, index, taskType, taskUUID: taskUUID! });
      } catch (e) {
        if (!(e instanceof TaskFailure)) throw e;
        // A conflict that names no task is a request-level error.
        errors.push(
          e.error.code === 'conflictTaskUUID' && !e.error.taskUUID && this.state.options.reusedUuid === 'conflictNoUuid'
            ? { ...e.error }
            : { ...e.error, ...scope },
        );
      }
    });
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    const waits: Promise<void>[] = [];
    for (const { task, index, taskType, taskUUID } of admitted) {
      const rec = this.received.get(taskUUID);
      try {
        if (
          fault?.kind === 'taskError' &&
          (fault.taskIndex === undefined || fault.taskIndex === index) &&
          (!fault.taskType || fault.taskType === taskType)
        ) {
          // A task-scoped failure: the UUID is spent, the task ran and failed.
          fail(
            fault.code ?? 'timeoutProvider',
            this.state.options.hostile
              ? `The provider did not answer in time for ${keyInOddSpellings(this.state.credentials.apiKey)}.`
              : 'The provider did not answer in time.',
          );
        }
        const job = this.start(task, taskType, taskUUID);
        if (rec) rec.job = job;
        if (fault?.kind === 'asyncError' && job.async)
          job.error = {
            code: fault.code ?? 'taskFailed',
            message: 'The task failed during processing.',
            taskType,
            taskUUID,
          };
        this.state.accepted.set(taskUUID, (this.state.accepted.get(taskUUID) ?? 0) + 1);
        if (!job.error) this.state.succeeded.set(taskUUID, (this.state.succeeded.get(taskUUID) ?? 0) + 1);
        if (job.async) {
          data.push({ taskType, taskUUID });
          continue;
        }
        waits.push(
          new Promise<void>((resolve) => setTimeout(resolve, job.durationMs)).then(async () => {
            if (this.heldBack(job)) {
              const ready = job.results.slice(0, this.state.heldFrom);
              if (early) early(ready);
              else data.push(...ready);
              await this.state.released();
              data.push(...job.results.slice(ready.length));
            } else data.push(...job.results);
          }),
        );
      } catch (e) {
        if (!(e instanceof TaskFailure)) throw e;
        const err = { ...e.error, taskType, taskUUID };
        if (rec) rec.errors = [err];
        errors.push(err);
      }
    }
    await Promise.all(waits);
    if (fault?.kind === 'emptySuccess') return { data: data.map(emptied), errors };
    return { data, errors };
  }

  /** Whether some of the job's results are held back (SimState.hold). */
  private heldBack(job: Job): boolean {
    const from = this.state.heldFrom;
    return from !== undefined && job.results.length > from;
  }

  /** Whether getResponse (or getTaskDetails) would answer "unknown" over HTTP 404, per the options. */
  readUnknownIs404(tasks: Item[]): boolean {
    if (tasks.length !== 1) return false;
    const t = tasks[0]!;
    const uuid = typeof t.taskUUID === 'string' ? t.taskUUID : '';
    if (t.taskType === 'getResponse')
      return this.state.options.unknownTask === 'http404' && !this.getResponseKnows(uuid);
    if (t.taskType === 'getTaskDetails')
      return this.state.options.taskDetailsUnknown === 'http404' && !this.knowsDetails(uuid);
    return false;
  }

  /**
   * Whether getTaskDetails knows a task yet: with `taskDetailsLag` = N, a task
   * it received is still "not found" to its first N queries (each call counts one).
   */
  private knowsDetails(uuid: string): boolean {
    const rec = this.received.get(uuid);
    if (!rec) return false;
    // Only "not found" answers count, so the HTTP-404 pre-check and the lookup never count one query twice.
    if ((rec.detailsQueries ?? 0) >= this.state.options.taskDetailsLag) return true;
    rec.detailsQueries = (rec.detailsQueries ?? 0) + 1;
    return false;
  }

  private getResponseKnows(uuid: string): boolean {
    const job = this.jobs.get(uuid);
    return !!job && (job.async || this.state.options.getResponseCoversSync);
  }

  /**
   * The documented lookup of any earlier task, sync or async: the request as
   * sent and, once there is one, the response. The unknown answers are options.
   */
  private getTaskDetails(uuid: string): { data: Item[]; errors: ApiError[] } {
    const rec = this.received.get(uuid);
    if (!rec || !this.knowsDetails(uuid)) {
      switch (this.state.options.taskDetailsUnknown) {
        case 'error':
        case 'http404':
          return {
            data: [],
            errors: [
              {
                code: 'taskNotFound',
                message: `No task with taskUUID ${uuid}.`,
                taskType: 'getTaskDetails',
                taskUUID: uuid,
                parameter: 'taskUUID',
              },
            ],
          };
        case 'empty':
          return { data: [], errors: [] };
        case 'noResponse':
          return { data: [{ taskType: 'getTaskDetails', taskUUID: uuid }], errors: [] };
      }
    }
    const item: Item = { taskType: 'getTaskDetails', taskUUID: uuid, request: rec.request };
    if (rec.errors) item.response = { errors: rec.errors };
    else if (rec.job) {
      const job = rec.job;
      const elapsed = Date.now() - job.startedAt;
      if (elapsed >= job.durationMs && !this.heldBack(job)) {
        item.response = job.error
          ? { errors: [job.error] }
          : job.async
            ? { data: job.results.map((r) => ({ ...r, status: 'success' })) }
            : { data: job.results };
      } else if (this.state.options.taskDetailsRunning === 'processing') {
        item.response = { data: [{ taskType: job.taskType, taskUUID: uuid, status: 'processing' }] };
      }
    } else if (this.state.options.taskDetailsRunning === 'processing') {
      item.response = {
        data: [{ taskType: String(rec.request[0]?.taskType ?? ''), taskUUID: uuid, status: 'processing' }],
      };
    }
    return { data: [item], errors: [] };
  }

  /**
   * A task an earlier simulator accepted (with --simulate every process has
   * its own), known from the journal: it runs on as if received at
   * `receivedAt`, so a poll from a later command finds it. Not counted as
   * accepted again: it was billed (in make-believe) once, by the first.
   */
  adopt(task: Item, receivedAt: number): boolean {
    const uuid = String(task.taskUUID ?? '');
    const taskType = String(task.taskType ?? '');
    if (!uuid || this.received.has(uuid) || !SIMULATED.has(taskType)) return false;
    try {
      const job = this.start(task, taskType, uuid);
      job.startedAt = receivedAt;
      this.state.known.add(uuid);
      this.received.set(uuid, { request: [{ ...task }], receivedAt, job });
      capped(this.received);
      return true;
    } catch {
      return false;
    }
  }

  private start(task: Item, taskType: string, uuid: string): Job {
    // A model whose schema allows only async delivery refuses sync, as the API does.
    const modes = (
      (
        (schemaFor(String(task.model ?? ''))?.requestSchema.properties as Item | undefined)?.deliveryMethod as
          Item | undefined
      )?.oneOf as Item[] | undefined
    )?.map((b) => b.const);
    if (modes && task.deliveryMethod !== undefined && !modes.includes(task.deliveryMethod))
      fail(
        'invalidDeliveryMethod',
        `${String(task.model)} supports deliveryMethod ${modes.map((m) => `"${String(m)}"`).join(' or ')} only.`,
        'deliveryMethod',
      );
    if (modes && task.deliveryMethod === undefined && !modes.includes('sync'))
      fail('invalidDeliveryMethod', `${String(task.model)} supports only deliveryMethod "async".`, 'deliveryMethod');
    checkModel(task, taskType);
    const job: Job = {
      uuid,
      taskType,
      startedAt: Date.now(),
      durationMs: 0,
      results: [],
      async: task.deliveryMethod === 'async',
    };
    switch (taskType) {
      case 'imageInference':
        this.imageInference(task, job);
        break;
      case 'modelSearch':
        job.results = [this.modelSearch(task, uuid)];
        break;
      case 'promptEnhance': {
        const prompt = String(task.prompt ?? '');
        if (!prompt) fail('missingPrompt', 'prompt is required.', 'prompt');
        const n = Number(task.promptVersions ?? 1);
        job.results = Array.from({ length: n }, (_, i) => ({
          taskType,
          taskUUID: uuid,
          text: `${prompt}, highly detailed, dramatic lighting, variation ${i + 1}`,
          ...this.cost(task, 0.0001),
        }));
        break;
      }
      case 'accountManagement':
        if (task.operation !== 'getDetails') fail('invalidOperation', 'operation must be getDetails.', 'operation');
        job.results = [
          { taskType, taskUUID: uuid, operation: 'getDetails', organizationName: 'Simulated Org', balance: 42.5 },
        ];
        break;
      case 'caption':
      case 'imageCaption':
        if (!task.inputImage && !task.inputs) fail('missingInputImage', 'inputImage is required.', 'inputImage');
        job.results = [
          { taskType, taskUUID: uuid, text: 'a simulated picture of a gradient', ...this.cost(task, 0.0002) },
        ];
        break;
      case 'removeBackground':
      case 'imageBackgroundRemoval':
      case 'upscale':
      case 'imageUpscale': {
        if (!task.inputImage && !task.inputs) fail('missingInputImage', 'inputImage is required.', 'inputImage');
        const factor = taskType.toLowerCase().includes('upscale') ? Number(task.upscaleFactor ?? 2) : 1;
        job.durationMs = this.state.scaled(800);
        job.results = [
          this.imageResult(task, taskType, uuid, 'PNG', 512 * factor, 512 * factor, randomInt(1, 2 ** 31)),
        ];
        break;
      }
      case 'videoInference': {
        if (task.deliveryMethod !== 'async')
          fail('invalidDeliveryMethod', 'videoInference supports only deliveryMethod "async".', 'deliveryMethod');
        if (!task.positivePrompt) fail('missingPositivePrompt', 'positivePrompt is required.', 'positivePrompt');
        const fmt = String(task.outputFormat ?? 'MP4').toUpperCase();
        if (fmt !== 'MP4' && fmt !== 'WEBM')
          fail('invalidOutputFormat', 'outputFormat must be MP4 or WEBM.', 'outputFormat');
        job.durationMs = this.state.scaled(10_000);
        job.results = this.files(task, taskType, uuid, 'video', fmt as SimFileFormat, 0.25);
        break;
      }
      case 'audioInference': {
        // Speech models take the words in speech.text; music and sound models a prompt.
        const speech = task.speech as Item | undefined;
        if (speech !== undefined && (typeof speech?.text !== 'string' || !speech.text))
          fail('missingSpeechText', 'speech.text is required.', 'speech.text');
        if (!task.positivePrompt && !speech)
          fail('missingPositivePrompt', 'positivePrompt is required.', 'positivePrompt');
        const fmt = String(task.outputFormat ?? 'MP3').toUpperCase();
        if (fmt !== 'MP3' && fmt !== 'WAV')
          fail('invalidOutputFormat', 'outputFormat must be MP3 or WAV.', 'outputFormat');
        job.durationMs = this.state.scaled(3000);
        job.results = this.files(task, taskType, uuid, 'audio', fmt as SimFileFormat, 0.03);
        break;
      }
      case '3dInference': {
        const images = (task.inputs as Item | undefined)?.images;
        if (!Array.isArray(images) || images.length === 0)
          fail('missingInputs', 'inputs.images needs at least one image.', 'inputs.images');
        job.durationMs = this.state.scaled(6000);
        const fileUUID = randomUUID();
        this.media.set(fileUUID, { format: 'GLB', width: 0, height: 0, seed: 0 });
        job.results = [
          {
            taskType,
            taskUUID: uuid,
            outputs: { files: [{ uuid: fileUUID, url: `${this.baseUrl()}/media/${fileUUID}.glb` }] },
            ...this.cost(task, 0.25),
          },
        ];
        break;
      }
      case 'mediaStorage':
        job.results = [this.mediaStorage(task, uuid)];
        break;
      case 'imageUpload': {
        // The deprecated upload task Runware's JavaScript SDK still sends: image in, imageUUID out.
        if (typeof task.image !== 'string' || !task.image)
          fail('missingImage', 'image is required: a URL, data URI or base64 string.', 'image');
        const stored = this.mediaStorage({ operation: 'upload', media: task.image }, uuid);
        job.results = [{ taskType, taskUUID: uuid, imageUUID: stored.mediaUUID, imageURL: stored.mediaURL }];
        break;
      }
    }
    this.jobs.set(uuid, job);
    capped(this.jobs);
    capped(this.media);
    return job;
  }

  /** numberResults files of one kind: `video` → videoUUID/videoURL, `audio` → audioUUID/audioURL. */
  private files(
    task: Item,
    taskType: string,
    uuid: string,
    kind: 'video' | 'audio',
    fmt: SimFileFormat,
    usd: number,
  ): Item[] {
    const n = Number(task.numberResults ?? 1);
    if (!Number.isInteger(n) || n < 1 || n > 4)
      fail('invalidNumberResults', 'numberResults must be an integer from 1 to 4.', 'numberResults');
    return Array.from({ length: n }, () => {
      const id = randomUUID();
      this.media.set(id, { format: fmt, width: 0, height: 0, seed: 0 });
      return {
        taskType,
        taskUUID: uuid,
        [`${kind}UUID`]: id,
        [`${kind}URL`]: `${this.baseUrl()}/media/${id}.${FILE_EXT[fmt].ext}`,
        ...this.cost(task, usd),
      };
    });
  }

  /** mediaStorage upload: a data URI, base64 or URL becomes a stored file with a reusable UUID. */
  private mediaStorage(task: Item, uuid: string): Item {
    if (task.operation !== 'upload')
      fail('invalidOperation', 'operation must be "upload" (the simulator does not delete).', 'operation');
    const media = typeof task.media === 'string' ? task.media : '';
    if (!media) fail('missingMedia', 'media is required: a URL, data URI or base64 string.', 'media');
    const m = /^data:([^;,]+);base64,(.*)$/s.exec(media);
    const bytes = m
      ? Buffer.from(m[2]!, 'base64')
      : /^https?:\/\//.test(media)
        ? undefined
        : Buffer.from(media, 'base64');
    if (bytes && bytes.length === 0) fail('invalidMedia', 'media holds no data.', 'media');
    const mediaUUID = randomUUID();
    this.media.set(mediaUUID, {
      format: 'PNG',
      width: 0,
      height: 0,
      seed: 0,
      ...(bytes ? { bytes, mime: m?.[1] ?? 'application/octet-stream' } : {}),
    });
    return {
      taskType: 'mediaStorage',
      taskUUID: uuid,
      operation: 'upload',
      mediaUUID,
      mediaURL: `${this.baseUrl()}/media/${mediaUUID}`,
    };
  }

  /** Priced as Runware prices (pricing.ts); a test's price for the model replaces the model's own. */
  private cost(task: Item, _usd?: number): Item {
    return task.includeCost === true
      ? { cost: reported(simPricePerResult(task, this.state.prices.get(String(task.model)))) }
      : {};
  }

  private imageInference(task: Item, job: Job): void {
    const prompt = task.positivePrompt;
    if (typeof prompt !== 'string' || prompt.trim().length === 0)
      fail('missingPositivePrompt', 'positivePrompt is required.', 'positivePrompt');
    if ((prompt as string).length > 3000)
      fail('invalidPositivePrompt', 'positivePrompt must be at most 3000 characters.', 'positivePrompt');
    if (typeof task.model !== 'string')
      fail('missingModel', 'model is required (an AIR id such as runware:101@1).', 'model');
    if (!AIRISH.test(task.model as string)) fail('invalidModel', `"${String(task.model)}" is not an AIR id.`, 'model');
    const model = CATALOG.find((m) => m.air === task.model);
    const flux = (model?.architecture ?? '').startsWith('flux');
    // Multiples of 8, and of 16 for FLUX (reference, "Dimensions").
    const step = flux || /flux/i.test(String(model?.name ?? '')) ? 16 : 8;
    const width = Number(task.width ?? model?.defaultWidth ?? 1024);
    const height = Number(task.height ?? model?.defaultHeight ?? 1024);
    for (const [name, v] of [
      ['width', width],
      ['height', height],
    ] as const) {
      if (!Number.isInteger(v) || v < 128 || v > 2048 || v % step !== 0) {
        fail(
          `invalid${name[0]!.toUpperCase()}${name.slice(1)}`,
          `Image ${name} must be between 128 and 2048, in multiples of ${step}.`,
          name,
        );
      }
    }
    const n = Number(task.numberResults ?? 1);
    if (!Number.isInteger(n) || n < 1 || n > 20)
      fail('invalidNumberResults', 'numberResults must be an integer from 1 to 20.', 'numberResults');
    const steps = Number(task.steps ?? model?.defaultSteps ?? 28);
    if (!Number.isInteger(steps) || steps < 1 || steps > 100)
      fail('invalidSteps', 'steps must be an integer from 1 to 100.', 'steps');
    if (task.CFGScale !== undefined && !(Number(task.CFGScale) >= 0 && Number(task.CFGScale) <= 50))
      fail('invalidCFGScale', 'CFGScale must be from 0 to 50.', 'CFGScale');
    const fmt = String(task.outputFormat ?? 'JPG')
      .toUpperCase()
      .replace('JPEG', 'JPG');
    if (!['JPG', 'PNG', 'WEBP'].includes(fmt))
      fail('invalidOutputFormat', 'outputFormat must be JPG, PNG or WEBP.', 'outputFormat');
    const outputType = String(task.outputType ?? 'URL');
    if (!['URL', 'base64Data', 'dataURI'].includes(outputType))
      fail('invalidOutputType', 'outputType must be URL, base64Data or dataURI.', 'outputType');
    const seed = task.seed !== undefined ? Number(task.seed) : randomInt(1, 2 ** 32 - 1);
    // About 1.5 s for 28 steps at 1 MP; long enough to watch progress.
    job.durationMs =
      this.state.imageMs ??
      this.state.scaled(Math.min(60_000, Math.max(400, 1500 * (steps / 28) * ((width * height) / 1_048_576))));
    const price = (model?.price ?? 0.002) * ((width * height) / 1_048_576);
    job.results = Array.from({ length: n }, (_, i) =>
      this.imageResult(task, 'imageInference', job.uuid, fmt as SimFormat, width, height, seed + i, price),
    );
  }

  private imageResult(
    task: Item,
    taskType: string,
    uuid: string,
    fmt: SimFormat,
    width: number,
    height: number,
    seed: number,
    price = 0.001,
  ): Item {
    const imageUUID = randomUUID();
    const outputType = String(task.outputType ?? 'URL');
    const item: Item = { taskType, taskUUID: uuid, imageUUID, seed };
    if (outputType === 'URL') {
      this.media.set(imageUUID, { format: fmt, width, height, seed });
      item.imageURL = `${this.baseUrl()}/media/${imageUUID}.${EXT[fmt]}`;
    } else {
      const b64 = renderImage(fmt, width, height, seed).toString('base64');
      if (outputType === 'base64Data') item.imageBase64Data = b64;
      else item.imageDataURI = `data:${MIME[fmt]};base64,${b64}`;
    }
    if (task.checkNSFW === true) item.NSFWContent = false;
    Object.assign(item, this.cost(task, price));
    return item;
  }

  private modelSearch(task: Item, uuid: string): Item {
    const q = typeof task.search === 'string' ? task.search.toLowerCase() : '';
    const tags = Array.isArray(task.tags) ? task.tags.map((t) => String(t).toLowerCase()) : [];
    const limit = Number(task.limit ?? 20);
    const offset = Number(task.offset ?? 0);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      fail('invalidLimit', 'limit must be from 1 to 100.', 'limit');
    if (!Number.isInteger(offset) || offset < 0) fail('invalidOffset', 'offset must be 0 or more.', 'offset');
    const hits = CATALOG.filter(
      (m) =>
        (!q || [m.name, m.air, m.architecture, ...m.tags].some((s) => s.toLowerCase().includes(q))) &&
        (!task.category || m.category === task.category) &&
        (!task.architecture || m.architecture === task.architecture) &&
        (!task.type || m.type === task.type) &&
        (!task.conditioning || m.conditioning === task.conditioning) &&
        tags.every((t) => m.tags.map((x) => x.toLowerCase()).includes(t)),
    );
    const results = hits.slice(offset, offset + limit).map(({ price: _p, ...m }) => ({
      ...m,
      private: false,
      heroImage: `${this.baseUrl()}/media/hero-${encodeURIComponent(m.air)}.jpg`,
    }));
    return {
      taskType: 'modelSearch',
      taskUUID: uuid,
      totalResults: hits.length,
      results: this.state.options.hostile ? [null, { name: 'no air' }, ...results] : results,
    };
  }

  /** Cumulative state of a task: every poll returns all N slots. */
  private getResponse(uuid: string): { data: Item[]; errors: ApiError[] } {
    const job = this.jobs.get(uuid);
    if (!job || !this.getResponseKnows(uuid)) {
      const mode = this.state.options.unknownTask;
      if (mode === 'notFound' || mode === 'http404') {
        return {
          data: [],
          errors: [
            {
              code: 'taskNotFound',
              message: `No task with taskUUID ${uuid}.`,
              taskType: 'getResponse',
              taskUUID: uuid,
              parameter: 'taskUUID',
            },
          ],
        };
      }
      if (mode === 'expired')
        return {
          data: [],
          errors: [
            { code: 'taskExpired', message: `The task ${uuid} has expired.`, taskType: 'getResponse', taskUUID: uuid },
          ],
        };
      return { data: [], errors: [] };
    }
    const elapsed = Date.now() - job.startedAt;
    const n = Math.max(1, job.results.length);
    if (job.error && elapsed >= job.durationMs) {
      return {
        data: [
          {
            taskType: job.taskType,
            taskUUID: uuid,
            status: 'error',
            error: { code: job.error.code, message: job.error.message },
          },
        ],
        errors: [],
      };
    }
    const data = job.results.map((r, i) => {
      const finishAt = (job.durationMs * (i + 1)) / n;
      if (elapsed >= finishAt && !(this.heldBack(job) && i >= this.state.heldFrom!)) return { ...r, status: 'success' };
      const progress = Math.min(99, Math.floor((100 * elapsed) / Math.max(1, finishAt)));
      return { taskType: job.taskType, taskUUID: uuid, status: 'processing', progress };
    });
    return { data, errors: [] };
  }
}

/**
 * The 'emptySuccess' fault: every result in the answer says "success" with
 * nothing in it (no output, no cost), though the task ran and is billed; a
 * later read gets the real thing. ACKs and "not found" answers are left alone.
 */
function emptied(item: Item): Item {
  if (!item || typeof item !== 'object') return item;
  if (item.taskType === 'getTaskDetails') {
    const resp = item.response as { data?: Item[] } | undefined;
    return resp && Array.isArray(resp.data)
      ? {
          ...item,
          response: {
            ...resp,
            data: resp.data.map((d) => ({ taskType: d.taskType, taskUUID: d.taskUUID, status: 'success' })),
          },
        }
      : item;
  }
  const keys = Object.keys(item);
  if (
    keys.every((k) => k === 'taskType' || k === 'taskUUID') ||
    (item.status !== undefined && item.status !== 'success')
  )
    return item;
  return { taskType: item.taskType, taskUUID: item.taskUUID, status: 'success' };
}
