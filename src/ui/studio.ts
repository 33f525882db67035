/**
 * The studio page: one script, two hosts. Inside an MCP client it is an MCP
 * App (ext-apps' App: tool input and result from the host, tools and output
 * resources through the host); opened from `runware-mcp-server studio` it asks
 * the local server's small API instead. Everything the page shows that came
 * from a prompt, a model, a file name or Runware is set as text, never parsed
 * as HTML; media are blob: URLs of saved outputs, or Runware's own media hosts.
 */
import { App } from '@modelcontextprotocol/ext-apps';
import { isRunwareMedia } from '../shared/media-hosts.js';
import { el, pickOutputs, type Item, type Normalized, normalize, normalizeRecord, money } from './studio-model.js';

type Json = Record<string, unknown>;
export interface ToolAnswer {
  isError?: boolean;
  structuredContent?: Json;
  content?: Array<{ type: string; text?: string }>;
}

/** What the page needs from whoever hosts it. */
interface Host {
  call(name: string, args: Json): Promise<ToolAnswer>;
  readOutput(taskUUID: string, index: number): Promise<Blob>;
  /** One task's journal record. */
  task(taskUUID: string): Promise<Json>;
}

const b64ToBytes = (b64: string): Uint8Array => {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
};

/** Inside an MCP client: the host relays tools/call and resources/read to this server. */
function mcpHost(app: App): Host {
  return {
    call: async (name, args) => (await app.callServerTool({ name, arguments: args })) as ToolAnswer,
    readOutput: async (taskUUID, index) => {
      const r = await app.readServerResource({ uri: `runware://tasks/${taskUUID}/outputs/${index}` });
      const c = r.contents[0] as { blob?: string; mimeType?: string } | undefined;
      if (!c?.blob) throw new Error('the output resource had no bytes');
      return new Blob([b64ToBytes(c.blob) as BlobPart], { type: c.mimeType ?? 'application/octet-stream' });
    },
    task: async (taskUUID) => {
      const r = await app.readServerResource({ uri: `runware://tasks/${taskUUID}` });
      const c = r.contents[0] as { text?: string } | undefined;
      return JSON.parse(c?.text ?? '{}') as Json;
    },
  };
}

/** On the local page: the token from the URL goes with every request, as a header. */
function localHost(token: string): Host {
  const headers = { 'x-studio-token': token, 'content-type': 'application/json' };
  return {
    call: async (name, args) => {
      const r = await fetch('/api/call', { method: 'POST', headers, body: JSON.stringify({ name, arguments: args }) });
      return (await r.json()) as ToolAnswer;
    },
    readOutput: async (taskUUID, index) => {
      const r = await fetch(`/api/output/${encodeURIComponent(taskUUID)}/${index}`, { headers });
      if (!r.ok) throw new Error(`output ${index} of ${taskUUID}: HTTP ${r.status}`);
      return r.blob();
    },
    task: async (taskUUID) => {
      const r = await fetch(`/api/task/${encodeURIComponent(taskUUID)}`, { headers });
      const body = (await r.json()) as Json;
      if (!r.ok)
        throw new Error(
          String(
            ((body.structuredContent as Json | undefined)?.error as Json | undefined)?.message ?? `HTTP ${r.status}`,
          ),
        );
      return body;
    },
  };
}

// ---------------------------------------------------------------- state

let host: Host | undefined;
/** The arguments of the call whose result is shown (actions reuse its saveTo and prompt). */
let lastArgs: Json = {};
let lastTool = '';
const blobUrls: string[] = [];

const $ = (id: string): HTMLElement => document.getElementById(id)!;

function status(text: string, kind: 'info' | 'error' | 'ok' = 'info'): void {
  const s = $('status');
  s.textContent = text;
  s.dataset.kind = kind;
}

/** A media element's source: the saved file (as a blob: URL) or Runware's own media host; else none. */
async function sourceOf(it: Item): Promise<string | undefined> {
  if (it.savedTo && it.index !== undefined && it.taskUUID && host) {
    try {
      const url = URL.createObjectURL(await host.readOutput(it.taskUUID, it.index));
      blobUrls.push(url);
      return url;
    } catch {
      // Fall through to the remote URL, if it is one the page may load.
    }
  }
  return isRunwareMedia(it.url) ? it.url : undefined;
}

function mediaElement(it: Item, src: string | undefined): HTMLElement {
  if (!src) {
    const p = el(
      'div',
      { class: 'nomedia' },
      it.kind === 'text' ? (it.text ?? '') : `${it.kind}: ${it.url ?? it.savedTo ?? 'no file'}`,
    );
    return p;
  }
  if (it.kind === 'video') {
    const v = el('video', { controls: '', loop: '', muted: '', playsinline: '', preload: 'auto' }) as HTMLVideoElement;
    v.muted = true;
    v.src = src;
    return v;
  }
  if (it.kind === 'audio') {
    const a = el('audio', { controls: '', preload: 'auto' }) as HTMLAudioElement;
    a.src = src;
    return a;
  }
  if (it.kind === 'image') {
    const img = el('img', { alt: `output ${(it.index ?? 0) + 1}`, loading: 'lazy' }) as HTMLImageElement;
    img.src = src;
    return img;
  }
  // 3D and anything else: a link to the file, as text.
  const a = el('a', { href: src, download: it.savedTo?.split(/[\\/]/).pop() ?? 'output' }, `Download ${it.kind}`);
  return a;
}

async function card(it: Item, n: Normalized): Promise<HTMLElement> {
  const c = el('figure', { class: `card ${it.kind}` });
  c.dataset.taskUuid = it.taskUUID ?? '';
  const media = mediaElement(it, await sourceOf(it));
  c.append(media);
  const cap = el('figcaption');
  const size = el('span', { class: 'size' });
  if (media instanceof HTMLImageElement)
    media.addEventListener('load', () => (size.textContent = `${media.naturalWidth}×${media.naturalHeight}`));
  const line1 = el('div', { class: 'line' });
  line1.append(size);
  if (it.seed !== undefined) line1.append(el('span', {}, `seed ${it.seed}`));
  const cost = it.cost ?? (n.items.length === 1 ? n.cost : undefined);
  if (cost !== undefined) line1.append(el('span', { class: 'cost' }, money(cost)));
  cap.append(
    line1,
    el('div', { class: 'line model' }, n.model ?? ''),
    el('div', { class: 'line uuid' }, it.taskUUID ?? ''),
  );
  if (it.savedTo) cap.append(el('div', { class: 'line path', title: it.savedTo }, it.savedTo));
  if (it.saveError) cap.append(el('div', { class: 'line warn' }, it.saveError));
  c.append(cap);
  if (it.kind === 'image' && (it.uuid || it.url)) c.append(actions(it, n));
  return c;
}

function actions(it: Item, n: Normalized): HTMLElement {
  const bar = el('div', { class: 'actions' });
  const ref = it.uuid ?? it.url!;
  const saveTo = typeof lastArgs.saveTo === 'string' ? { saveTo: lastArgs.saveTo } : {};
  const button = (label: string, run: () => Promise<void>): void => {
    const b = el('button', { type: 'button' }, label) as HTMLButtonElement;
    b.addEventListener('click', () => {
      b.disabled = true;
      run().finally(() => (b.disabled = false));
    });
    bar.append(b);
  };
  if (lastTool === 'runware_text_to_image') {
    button('New seed', () =>
      act(
        'runware_text_to_image',
        { ...withoutCost(lastArgs), seed: Math.floor(Math.random() * 2 ** 31), numberResults: 1 },
        'Generating with a new seed',
      ),
    );
  }
  button('Upscale', async () => {
    status('Finding an upscaler…');
    await act(
      'runware_run',
      { model: await modelFor('upscale'), params: { inputImage: ref, upscaleFactor: 2 }, ...saveTo },
      'Upscaling',
    );
  });
  button('Remove background', async () => {
    status('Finding a background remover…');
    await act(
      'runware_run',
      { model: await modelFor('background-removal'), params: { inputImage: ref, outputFormat: 'PNG' }, ...saveTo },
      'Removing the background',
    );
  });
  button('Animate', async () => {
    status('Finding an image-to-video model…');
    const model = await modelFor('image-to-video');
    const prompt = typeof lastArgs.prompt === 'string' ? lastArgs.prompt : (n.prompt ?? 'gentle camera motion');
    await act(
      'runware_run',
      {
        model,
        params: { positivePrompt: prompt, inputs: { frameImages: [{ image: ref, frame: 'first' }] } },
        ...saveTo,
      },
      `Animating with ${model}`,
    );
  });
  return bar;
}

/** When model search finds nothing for a capability: models Runware lists for it. */
const FALLBACK: Record<string, string> = {
  upscale: 'runware:501@1',
  'background-removal': 'runware:109@1',
  'image-to-video': 'klingai:5@3',
};
const TASK_TYPE: Record<string, string> = {
  upscale: 'upscale',
  'background-removal': 'removeBackground',
  'image-to-video': 'videoInference',
};

/**
 * A model for a capability, found through model search's capability filter;
 * where search has no such filter, by a query whose hits must say they do
 * it; else a known one.
 */
async function modelFor(capability: string): Promise<string> {
  const want = TASK_TYPE[capability];
  const hits = (r: ToolAnswer): Json[] =>
    r.isError ? [] : ((r.structuredContent?.results ?? []) as Json[]).filter((h) => typeof h.air === 'string');
  const says = (h: Json): boolean =>
    h.taskType === want ||
    [
      h.category,
      h.type,
      ...(Array.isArray(h.tags) ? h.tags : []),
      ...(Array.isArray(h.capabilities) ? h.capabilities : []),
    ]
      .join(' ')
      .toLowerCase()
      .includes(capability.replace(/-/g, ' ').split(' ')[0]!);
  try {
    const r = await host!.call('runware_model_search', { capability, limit: 5 });
    const filtered = hits(r).find((h) => h.taskType === undefined || h.taskType === want);
    if (filtered) return String(filtered.air);
    // A search without the capability filter refuses the argument: ask by query instead.
    if (r.isError) {
      const byQuery = hits(
        await host!.call('runware_model_search', { search: capability.replace(/-/g, ' '), limit: 10 }),
      ).find(says);
      if (byQuery) return String(byQuery.air);
    }
  } catch {
    // Search failing is no reason not to act.
  }
  return FALLBACK[capability]!;
}

const withoutCost = ({ confirmCostUsd: _c, ...rest }: Json): Json => rest;

/**
 * Calls a tool as any call goes: same rules, quotes and spend cap. A refusal
 * for its price shows the quote and asks; the second call carries
 * confirmCostUsd. A spend-cap refusal is said as such.
 */
async function callConfirmed(name: string, args: Json): Promise<ToolAnswer | undefined> {
  const r = await host!.call(name, args);
  const err = r.isError ? (r.structuredContent?.error as Json | undefined) : undefined;
  if (err?.code === 'confirmation_required' && typeof err.quoteUsd === 'number') {
    const yes = await ask(err);
    if (!yes) {
      status('Not run: the price was not confirmed.');
      return undefined;
    }
    return host!.call(name, { ...args, confirmCostUsd: err.quoteUsd });
  }
  return r;
}

function ask(err: Json): Promise<boolean> {
  const box = $('confirm');
  box.replaceChildren();
  const quote = Number(err.quoteUsd);
  box.append(el('p', { class: 'q' }, `This costs about ${money(quote)}.`));
  const facts = [
    typeof err.spentTodayUsd === 'number' ? `Spent today: ${money(err.spentTodayUsd)}` : '',
    typeof err.capUsd === 'number' ? `Daily cap: ${money(err.capUsd)}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  if (facts) box.append(el('p', {}, facts));
  if (typeof err.message === 'string') box.append(el('p', { class: 'muted' }, err.message));
  const yes = el('button', { type: 'button', class: 'primary', id: 'confirm-yes' }, `Run for ${money(quote)}`);
  const no = el('button', { type: 'button', id: 'confirm-no' }, 'Cancel');
  box.append(yes, no);
  box.hidden = false;
  return new Promise((resolve) => {
    const done = (v: boolean) => () => {
      box.hidden = true;
      resolve(v);
    };
    yes.addEventListener('click', done(true), { once: true });
    no.addEventListener('click', done(false), { once: true });
  });
}

function describeError(r: ToolAnswer): string {
  const e = r.structuredContent?.error as Json | undefined;
  if (e?.code === 'spend_cap') {
    const facts = [
      typeof e.spentTodayUsd === 'number' ? `spent ${money(e.spentTodayUsd)}` : '',
      typeof e.capUsd === 'number' ? `cap ${money(e.capUsd)}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    return `Spend cap reached${facts ? ` (${facts})` : ''}: ${String(e.message ?? '')}`;
  }
  if (e) return `${String(e.message ?? 'failed')}${e.next ? ` — ${String(e.next)}` : ''}`;
  return r.content?.find((c) => c.type === 'text')?.text ?? 'the call failed';
}

async function act(name: string, args: Json, doing: string): Promise<void> {
  status(`${doing}…`);
  try {
    const r = await callConfirmed(name, args);
    if (!r) return;
    if (r.isError) {
      status(describeError(r), 'error');
      return;
    }
    lastTool = name;
    lastArgs = { ...lastArgs, ...(typeof args.saveTo === 'string' ? { saveTo: args.saveTo } : {}) };
    await showResult(r);
    status(`Done: ${doing.toLowerCase()}.`, 'ok');
    void refreshJournal();
  } catch (e) {
    status(`${doing} failed: ${(e as Error).message}`, 'error');
  }
}

// ---------------------------------------------------------------- views

async function showResult(r: ToolAnswer): Promise<void> {
  const sc = r.structuredContent;
  if (!sc) return;
  if (Array.isArray(sc.tasks)) {
    showJournal(sc.tasks as Json[]);
    tab('journal');
    return;
  }
  if (Array.isArray(sc.images)) lastTool = 'runware_text_to_image';
  else if (Array.isArray(sc.outputs)) lastTool = 'runware_run';
  await showNormalized(normalize(sc, lastArgs), r);
}

async function showNormalized(n: Normalized, r?: ToolAnswer): Promise<void> {
  const grid = $('outputs');
  const head = $('call');
  head.replaceChildren(
    el('span', { class: `badge ${n.status}` }, n.status),
    el('span', { class: 'model' }, n.model ?? ''),
    el('span', {}, `${n.items.length} output${n.items.length === 1 ? '' : 's'}`),
    ...(n.cost !== undefined ? [el('span', { class: 'cost' }, money(n.cost))] : []),
  );
  if (n.prompt) head.append(el('q', { class: 'prompt' }, n.prompt));
  if (r?.isError) head.append(el('div', { class: 'line warn' }, describeError(r)));
  const cards = await Promise.all(n.items.map((it) => card(it, n)));
  grid.replaceChildren(...cards);
  tab('outputs');
}

let journalTasks: Json[] = [];

function showJournal(tasks: Json[]): void {
  journalTasks = tasks;
  const models = [...new Set(tasks.map((t) => t.model).filter((m): m is string => typeof m === 'string'))];
  const sel = $('f-model') as HTMLSelectElement;
  const keep = sel.value;
  sel.replaceChildren(el('option', { value: '' }, 'all models'), ...models.map((m) => el('option', { value: m }, m)));
  sel.value = models.includes(keep) ? keep : '';
  void renderJournal();
}

async function renderJournal(): Promise<void> {
  const st = ($('f-status') as HTMLSelectElement).value;
  const model = ($('f-model') as HTMLSelectElement).value;
  const rows = journalTasks.filter((t) => (!st || t.status === st) && (!model || t.model === model));
  const list = $('journal-list');
  const made = await Promise.all(
    rows.map(async (t) => {
      const row = el('div', { class: 'row', role: 'button', tabindex: '0', title: 'Open this task' });
      row.dataset.taskUuid = String(t.taskUUID);
      row.addEventListener('click', () => void openTask(String(t.taskUUID)));
      const first = pickOutputs(t)[0];
      const thumb = el('div', { class: 'thumb' });
      if (first) {
        const src = await sourceOf(first);
        if (src && first.kind === 'image') {
          const img = el('img', { alt: '' }) as HTMLImageElement;
          img.src = src;
          thumb.append(img);
        } else thumb.textContent = first.kind;
      }
      row.append(
        thumb,
        el('span', { class: `badge ${String(t.status)}` }, String(t.status)),
        el('span', { class: 'type' }, String(t.taskType ?? '')),
        el('span', { class: 'model' }, String(t.model ?? '')),
        el('span', { class: 'cost' }, typeof t.cost === 'number' ? money(t.cost) : ''),
        el(
          'span',
          { class: 'time' },
          String(t.updatedAt ?? '')
            .replace('T', ' ')
            .slice(0, 19),
        ),
        el('span', { class: 'uuid' }, String(t.taskUUID)),
      );
      return row;
    }),
  );
  list.replaceChildren(...(made.length ? made : [el('div', { class: 'muted' }, 'No tasks match.')]));
}

/** A journal row, opened: the task's outputs, prompt and cost, with the same actions as a fresh result. */
async function openTask(taskUUID: string): Promise<void> {
  try {
    const rec = await host!.task(taskUUID);
    const n = normalizeRecord(rec);
    const req = (rec.request ?? {}) as Json;
    lastTool = rec.taskType === 'imageInference' ? 'runware_text_to_image' : 'runware_run';
    lastArgs = {
      ...(n.prompt ? { prompt: n.prompt } : {}),
      ...(n.model ? { model: n.model } : {}),
      ...(typeof rec.saveTo === 'string' ? { saveTo: rec.saveTo } : {}),
      ...(typeof req.width === 'number' ? { width: req.width, height: req.height } : {}),
    };
    await showNormalized(n);
  } catch (e) {
    status(`Could not open ${taskUUID}: ${(e as Error).message}`, 'error');
  }
}

async function refreshJournal(): Promise<void> {
  if (!host) return;
  const st = ($('f-status') as HTMLSelectElement).value;
  const [tasks, acct] = await Promise.all([
    host.call('runware_tasks', { limit: 30, ...(st ? { status: st } : {}) }),
    host.call('runware_account', {}).catch(() => undefined),
  ]);
  if (!tasks.isError && Array.isArray(tasks.structuredContent?.tasks))
    showJournal(tasks.structuredContent.tasks as Json[]);
  const a = acct && !acct.isError ? acct.structuredContent : undefined;
  const spend = a?.spend as { today?: number } | undefined;
  const cap = a?.cap as { usd?: number; left?: number } | undefined;
  const meter = $('spend');
  if (spend?.today !== undefined) {
    meter.textContent =
      cap?.usd !== undefined
        ? `Today ${money(spend.today)} of ${money(cap.usd)} cap`
        : `Today ${money(spend.today)} (no cap)`;
    const bar = $('spend-bar') as HTMLProgressElement;
    bar.hidden = cap?.usd === undefined;
    if (cap?.usd) bar.value = Math.min(1, spend.today / cap.usd);
  }
}

function tab(which: 'outputs' | 'journal'): void {
  for (const t of ['outputs', 'journal'] as const) {
    $(`view-${t}`).hidden = t !== which;
    $(`tab-${t}`).setAttribute('aria-selected', String(t === which));
  }
}

// ---------------------------------------------------------------- start

function wire(): void {
  $('tab-outputs').addEventListener('click', () => tab('outputs'));
  $('tab-journal').addEventListener('click', () => {
    tab('journal');
    void refreshJournal();
  });
  $('f-status').addEventListener('change', () => void refreshJournal());
  $('f-model').addEventListener('change', () => void renderJournal());
  $('refresh').addEventListener('click', () => void refreshJournal());
  window.addEventListener('pagehide', () => blobUrls.forEach((u) => URL.revokeObjectURL(u)));
}

async function start(): Promise<void> {
  wire();
  const token = new URLSearchParams(location.search).get('token');
  if (window.parent === window && token) {
    // The local page: no MCP host; the journal is what there is to show.
    document.documentElement.dataset.host = 'local';
    host = localHost(token);
    tab('journal');
    await refreshJournal();
    status('Local studio: the journal of this machine.', 'ok');
    return;
  }
  const app = new App({ name: 'runware-studio', version: '1' }, {}, { autoResize: true });
  app.ontoolinput = (p) => {
    lastArgs = (p.arguments ?? {}) as Json;
  };
  app.ontoolresult = (r) => {
    void showResult(r as ToolAnswer).then(() => refreshJournal());
  };
  app.onhostcontextchanged = () => undefined;
  // Set before connecting: the host may send the tool result as soon as the page is initialized.
  host = mcpHost(app);
  await app.connect();
  status('Connected.', 'ok');
}

void start().catch((e: unknown) => status(`The studio could not start: ${(e as Error).message}`, 'error'));
