/**
 * The studio page's pure parts: turning any generation tool's
 * structuredContent into one list of outputs, and building elements whose
 * text is always text (textContent), never markup.
 */
type Json = Record<string, unknown>;

export interface Item {
  kind: string;
  /** Index into the task's outputs in the journal (runware://tasks/{uuid}/outputs/{index}). */
  index?: number;
  taskUUID?: string;
  uuid?: string;
  url?: string;
  savedTo?: string;
  saveError?: string;
  seed?: number;
  cost?: number;
  mimeType?: string;
  text?: string;
}

export interface Normalized {
  status: string;
  taskUUID?: string;
  model?: string;
  cost?: number;
  prompt?: string;
  items: Item[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

const KIND_OF_MIME = (mime: string | undefined): string | undefined => (mime ? mime.split('/')[0] : undefined);
const KIND_OF_URL = (url: string | undefined): string | undefined => {
  const ext = url ? /\.([a-z0-9]+)(?:$|[?#])/i.exec(url)?.[1]?.toLowerCase() : undefined;
  if (!ext) return undefined;
  if (['jpg', 'jpeg', 'png', 'webp', 'gif', 'avif'].includes(ext)) return 'image';
  if (['mp4', 'webm', 'mov'].includes(ext)) return 'video';
  if (['mp3', 'wav', 'ogg', 'flac', 'm4a'].includes(ext)) return 'audio';
  return 'file';
};

/** One output from a result item of any shape (text-to-image image, run output, raw poll result). */
function item(o: Json, index: number, taskUUID: string | undefined, file?: Json): Item {
  const url = str(o.imageURL) ?? str(o.videoURL) ?? str(o.audioURL) ?? str(o.mediaURL) ?? str(o.url);
  const savedTo = str(o.savedTo) ?? str(file?.savedTo);
  const mimeType = str(o.mimeType) ?? str(file?.mimeType);
  const kind =
    str(o.kind) ??
    (o.imageURL || o.imageUUID ? 'image' : o.videoURL ? 'video' : o.audioURL ? 'audio' : undefined) ??
    KIND_OF_MIME(mimeType) ??
    KIND_OF_URL(url ?? savedTo) ??
    (str(o.text) ? 'text' : 'file');
  const it: Item = { kind, index };
  if (taskUUID) it.taskUUID = taskUUID;
  const uuid = str(o.imageUUID) ?? str(o.videoUUID) ?? str(o.audioUUID) ?? str(o.mediaUUID) ?? str(o.uuid);
  if (uuid) it.uuid = uuid;
  if (url) it.url = url;
  if (savedTo) it.savedTo = savedTo;
  const saveError = str(o.saveError) ?? str(file?.saveError);
  if (saveError) it.saveError = saveError;
  const seed = num(o.seed);
  if (seed !== undefined) it.seed = seed;
  const cost = num(o.cost);
  if (cost !== undefined) it.cost = cost;
  if (mimeType) it.mimeType = mimeType;
  const text = str(o.text);
  if (text) it.text = text;
  return it;
}

/** The outputs of any generation result: runware_text_to_image (images), runware_run (outputs), runware_poll (results, files). */
export function normalize(sc: Json, args: Json = {}): Normalized {
  const taskUUID = str(sc.taskUUID);
  const files = Array.isArray(sc.files) ? (sc.files as Json[]) : [];
  const fileAt = (i: number): Json | undefined => files.find((f) => f.index === i);
  const list = (
    Array.isArray(sc.images)
      ? sc.images
      : Array.isArray(sc.outputs)
        ? sc.outputs
        : Array.isArray(sc.results)
          ? sc.results
          : []
  ) as Json[];
  const out: Normalized = {
    status: str(sc.status) ?? 'unknown',
    items: list.map((o, i) => item(o ?? {}, i, taskUUID, fileAt(i))),
  };
  if (taskUUID) out.taskUUID = taskUUID;
  const model = str(sc.model) ?? str(args.model);
  if (model) out.model = model;
  const cost = num(sc.cost);
  if (cost !== undefined) out.cost = cost;
  const prompt = str(args.prompt) ?? str((args.params as Json | undefined)?.positivePrompt);
  if (prompt) out.prompt = prompt;
  return out;
}

/** A journal record (runware://tasks/{uuid}): its outputs, prompt, model and cost, as a result is shown. */
export function normalizeRecord(rec: Json): Normalized {
  const req = (rec.request ?? {}) as Json;
  const out: Normalized = { status: str(rec.status) ?? 'unknown', items: pickOutputs(rec) };
  const uuid = str(rec.taskUUID);
  if (uuid) out.taskUUID = uuid;
  const model = str(rec.model) ?? str(req.model);
  if (model) out.model = model;
  const cost = num(rec.cost);
  if (cost !== undefined) out.cost = cost;
  const prompt = str(req.positivePrompt) ?? str(req.prompt);
  if (prompt) out.prompt = prompt;
  return out;
}

/** A journal line's outputs (runware_tasks: url, savedTo, kind), as items. */
export function pickOutputs(t: Json): Item[] {
  const outs = Array.isArray(t.outputs) ? (t.outputs as Json[]) : [];
  return outs.map((o, i) => item(o ?? {}, i, str(t.taskUUID)));
}

export const money = (usd: unknown): string => {
  const n = Number(usd);
  if (!Number.isFinite(n)) return '';
  return `$${n < 0.01 ? n.toFixed(4) : n.toFixed(2)}`;
};

/** An element with attributes and, optionally, text: the text is a text node, so markup in it stays text. */
export function el(tag: string, attrs: Record<string, string> = {}, text?: string): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
