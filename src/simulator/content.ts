/**
 * The simulated content service (content.runware.ai), in the shapes the
 * reference gives (runware-schemas-cost.md §4): `/capabilities` lists the
 * capability taxonomy (`io:*` inputs to outputs, `op:*` operations),
 * `/models?capability=&category=&creator=&q=` the curated first-party and
 * provider models, `/models/<slug>/examples` working requests, and
 * `/models/<slug>/pricing` prices. No key is needed.
 */
import { SCHEMAS, type SimSchemaEntry } from './schemas.js';

type Item = Record<string, unknown>;

export const CAPABILITIES: ReadonlyArray<{ id: string; label: string }> = [
  { id: 'io:text-to-image', label: 'Text to image' },
  { id: 'io:image-to-image', label: 'Image to image' },
  { id: 'op:image-editing', label: 'Image editing' },
  { id: 'op:inpainting', label: 'Inpainting' },
  { id: 'io:text-to-video', label: 'Text to video' },
  { id: 'io:image-to-video', label: 'Image to video' },
  { id: 'io:text-to-music', label: 'Text to music' },
  { id: 'io:text-to-speech', label: 'Text to speech' },
  { id: 'io:image-to-3d', label: 'Image to 3D' },
  { id: 'io:image-to-text', label: 'Image captioning' },
  { id: 'op:upscale', label: 'Upscale' },
  { id: 'op:background-removal', label: 'Background removal' },
];

interface Meta {
  creator: string;
  capabilities: string[];
  modality: 'image' | 'video' | 'audio' | '3d';
  architecture?: string;
  weight: number;
  releasedAt: string;
  headline: string;
  /** Example requests: the parameters past taskType, taskUUID and model. */
  examples: Array<{ title: string; capability: string; params: Item }>;
}

const PHOTO = 'https://im.runware.ai/examples/coast.jpg';

const META: Record<string, Meta> = {
  'runware:101@1': {
    creator: 'Black Forest Labs',
    capabilities: ['io:text-to-image', 'io:image-to-image', 'op:inpainting'],
    modality: 'image',
    architecture: 'flux1d',
    weight: 90,
    releasedAt: '2024-08-01',
    headline: 'Open-weights FLUX with strong prompt following',
    examples: [
      {
        title: 'A product photo',
        capability: 'io:text-to-image',
        params: {
          positivePrompt: 'a ceramic mug on a walnut desk, soft window light',
          width: 1024,
          height: 1024,
          steps: 28,
          CFGScale: 3.5,
          numberResults: 1,
          outputFormat: 'JPG',
          deliveryMethod: 'sync',
          includeCost: true,
        },
      },
      {
        title: 'Restyle a photo',
        capability: 'io:image-to-image',
        params: {
          positivePrompt: 'the same scene as a watercolor',
          seedImage: PHOTO,
          strength: 0.7,
          width: 1024,
          height: 1024,
        },
      },
    ],
  },
  'google:imagen@4': {
    creator: 'Google',
    capabilities: ['io:text-to-image'],
    modality: 'image',
    weight: 80,
    releasedAt: '2025-05-20',
    headline: 'Photorealistic images with legible text',
    examples: [
      {
        title: 'A wide poster',
        capability: 'io:text-to-image',
        params: { positivePrompt: 'a poster that reads "OPEN LATE", neon on brick', width: 1408, height: 768 },
      },
    ],
  },
  'klingai:5@3': {
    creator: 'Kling AI',
    capabilities: ['io:text-to-video', 'io:image-to-video'],
    modality: 'video',
    weight: 95,
    releasedAt: '2025-05-29',
    headline: 'Cinematic 1080p video from text or a first frame',
    examples: [
      {
        title: 'Animate a photo',
        capability: 'io:image-to-video',
        params: {
          positivePrompt: 'waves roll onto the shore, gentle camera push-in',
          duration: 5,
          width: 1920,
          height: 1080,
          inputs: { frameImages: [{ image: PHOTO, frame: 'first' }] },
          deliveryMethod: 'async',
        },
      },
      {
        title: 'A shot from text',
        capability: 'io:text-to-video',
        params: {
          positivePrompt: 'a paper boat drifting down a rainy street, macro',
          duration: 5,
          deliveryMethod: 'async',
        },
      },
    ],
  },
  'bytedance:1@1': {
    creator: 'ByteDance',
    capabilities: ['io:text-to-video', 'io:image-to-video'],
    modality: 'video',
    weight: 70,
    releasedAt: '2025-06-11',
    headline: 'Fast, low-cost 480p video',
    examples: [
      {
        title: 'Animate a photo',
        capability: 'io:image-to-video',
        params: {
          positivePrompt: 'leaves drift across the frame',
          duration: 5,
          width: 864,
          height: 480,
          inputs: { frameImages: [{ image: PHOTO, frame: 'first' }] },
        },
      },
    ],
  },
  'minimax:music@2.6': {
    creator: 'MiniMax',
    capabilities: ['io:text-to-music'],
    modality: 'audio',
    weight: 60,
    releasedAt: '2025-10-01',
    headline: 'Songs and instrumentals up to five minutes',
    examples: [
      {
        title: 'An instrumental',
        capability: 'io:text-to-music',
        params: { positivePrompt: 'calm lo-fi piano, rain in the background', duration: 30, outputFormat: 'MP3' },
      },
    ],
  },
  'minimax:speech@2.6-hd': {
    creator: 'MiniMax',
    capabilities: ['io:text-to-speech'],
    modality: 'audio',
    weight: 65,
    releasedAt: '2025-10-01',
    headline: 'Natural speech in many voices',
    examples: [
      {
        title: 'A narration',
        capability: 'io:text-to-speech',
        params: {
          speech: { text: 'Welcome back. Here is what changed this week.', voice: 'Wise_Woman' },
          outputFormat: 'MP3',
        },
      },
    ],
  },
  'tencent:hunyuan-3d@3.1-pro': {
    creator: 'Tencent',
    capabilities: ['io:image-to-3d'],
    modality: '3d',
    weight: 50,
    releasedAt: '2025-09-15',
    headline: 'Textured 3D models from one or more views',
    examples: [
      {
        title: 'A chair from a photo',
        capability: 'io:image-to-3d',
        params: { inputs: { images: ['https://im.runware.ai/examples/chair.png'] }, outputFormat: 'GLB' },
      },
    ],
  },
  'runware:109@1': {
    creator: 'BRIA',
    capabilities: ['op:background-removal'],
    modality: 'image',
    weight: 75,
    releasedAt: '2024-10-01',
    headline: 'Clean cut-outs with soft edges',
    examples: [
      {
        title: 'Cut out a product',
        capability: 'op:background-removal',
        params: { inputImage: PHOTO, outputFormat: 'PNG' },
      },
    ],
  },
  'runware:151@1': {
    creator: 'Runware',
    capabilities: ['io:image-to-text'],
    modality: 'image',
    weight: 40,
    releasedAt: '2024-06-01',
    headline: 'Describes an image in a sentence or answers about it',
    examples: [{ title: 'Describe a photo', capability: 'io:image-to-text', params: { inputImage: PHOTO } }],
  },
  'runware:501@1': {
    creator: 'Runware',
    capabilities: ['op:upscale'],
    modality: 'image',
    weight: 72,
    releasedAt: '2024-09-01',
    headline: 'Enlarges images 2x to 4x, sharpening detail',
    examples: [
      {
        title: 'Upscale 4x',
        capability: 'op:upscale',
        params: { inputImage: PHOTO, upscaleFactor: 4, outputFormat: 'PNG' },
      },
    ],
  },
  'bfl:3@1': {
    creator: 'Black Forest Labs',
    capabilities: ['op:image-editing', 'io:image-to-image'],
    modality: 'image',
    weight: 85,
    releasedAt: '2025-05-29',
    headline: 'Edits an image from an instruction, keeping the rest',
    examples: [
      {
        title: 'Change one thing',
        capability: 'op:image-editing',
        params: { positivePrompt: 'make the sky a stormy sunset, keep everything else', referenceImages: [PHOTO] },
      },
    ],
  },
};

const meta = (e: SimSchemaEntry): Meta =>
  META[e.air] ?? {
    creator: 'Runware',
    capabilities: [],
    modality: 'image',
    weight: 0,
    releasedAt: '2025-01-01',
    headline: e.name,
    examples: [],
  };

/** A content-service list item (the SDK's ModelMetadata, with pricing). */
export function contentItem(e: SimSchemaEntry): Item {
  const m = meta(e);
  return {
    model: e.slug,
    air: e.air,
    name: e.name,
    creator: m.creator,
    capabilities: m.capabilities,
    ...(m.architecture ? { architecture: m.architecture } : {}),
    hosted: true,
    status: 'live',
    releasedAt: m.releasedAt,
    weight: m.weight,
    headline: m.headline,
    description: `${e.name}: ${m.headline.toLowerCase()}.`,
    coverImage: `https://im.runware.ai/covers/${e.slug}.jpg`,
    category: [m.modality],
    pricingOverview: e.pricingOverview,
    pricingExamples: e.pricingExamples,
  };
}

const capLabel = new Map(CAPABILITIES.map((c) => [c.id, c.label]));

/** `/models`: every curated model matching the filters, heaviest first; `q` words must all appear. */
export function listModels(query: URLSearchParams): Item[] {
  const capability = query.get('capability');
  const category = query.get('category');
  const creator = query.get('creator')?.toLowerCase();
  const words = (query.get('q') ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  return SCHEMAS.filter((e) => {
    const m = meta(e);
    if (capability && !m.capabilities.includes(capability)) return false;
    if (category && m.modality !== category) return false;
    if (creator && m.creator.toLowerCase() !== creator) return false;
    const text = [
      e.name,
      e.air,
      e.slug,
      m.creator,
      m.headline,
      m.modality,
      ...m.capabilities,
      ...m.capabilities.map((c) => capLabel.get(c) ?? ''),
    ]
      .join(' ')
      .toLowerCase();
    return words.every((w) => text.includes(w));
  })
    .sort((a, b) => meta(b).weight - meta(a).weight)
    .map(contentItem);
}

/** `/models/<slug>/examples`: full requests, as the API would take them, with what came back. */
export function examplesOf(e: SimSchemaEntry, capability?: string | null): Item[] {
  return meta(e)
    .examples.filter((x) => !capability || x.capability === capability)
    .map((x, i) => ({
      id: `${e.slug}-${i + 1}`,
      title: x.title,
      model: e.air,
      capability: x.capability,
      request: { taskType: e.taskType, taskUUID: '6f0e2bd3-1f4c-4c55-9a4e-0b7d2a9c1e5f', model: e.air, ...x.params },
      response: { taskType: e.taskType, taskUUID: '6f0e2bd3-1f4c-4c55-9a4e-0b7d2a9c1e5f', status: 'success' },
    }));
}

/** A malformed escape is a 404, not a crash. */
const safeDecode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
};

const bySlugOrAir = (id: string): SimSchemaEntry | undefined => SCHEMAS.find((e) => e.slug === id || e.air === id);

/** Answers a content-service path (after `/content/`), or undefined for a 404. */
export function contentAnswer(rest: string, query: URLSearchParams): { status: number; body: unknown } {
  if (rest === 'capabilities') return { status: 200, body: { data: CAPABILITIES } };
  if (rest === 'models') return { status: 200, body: { data: listModels(query) } };
  const m = /^models\/([^/]+)(\/pricing|\/examples)?$/.exec(rest);
  const id = m ? safeDecode(m[1]!) : undefined;
  const e = id ? bySlugOrAir(id) : undefined;
  if (!m || !e)
    return { status: 404, body: { error: m?.[2] === '/pricing' ? `No pricing for ${id ?? m[1]}.` : 'Not found.' } };
  if (m[2] === '/examples') return { status: 200, body: { data: examplesOf(e, query.get('capability')) } };
  return { status: 200, body: { data: contentItem(e) } };
}
