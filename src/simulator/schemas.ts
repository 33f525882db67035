/**
 * The simulator's schema and content services, in the shapes the reference
 * gives (runware-schemas-cost.md): `/resolve/{AIR}` answers
 * `{requestSchema, responseSchema, documentation}`, `/registry.json` maps AIRs
 * to task types, and the content service lists models and their pricing.
 *
 * Schemas are dereferenced JSON Schema (2019-09) with vestigial inner `$id`s,
 * one of them duplicated, as the real ones are. The catalogue covers image
 * (free sizes, and sizes in fixed combinations), video that only allows async
 * delivery, audio, 3D, background removal and captions. Models not listed
 * here (the civitai checkpoints, say) have no schema: /resolve answers 404.
 */

type Schema = Record<string, unknown>;

const ID = 'https://schemas.runware.ai/requests/parameters';
const withId = (id: string, s: Schema): Schema => ({ $id: `${ID}/${id}.json`, ...s });

const taskType = (t: string): Schema => withId('api/task-type', { title: 'Task Type', type: 'string', const: t });
const taskUUID = withId('api/task-uuid', { title: 'Task UUID', type: 'string', format: 'uuid' });
const delivery = (...m: Array<'sync' | 'async'>): Schema => ({
  title: 'Delivery Method',
  description: 'How the result is returned: in the response (sync) or by polling getResponse (async).',
  default: m[0],
  oneOf: m.map((c) => ({ const: c })),
});
const common = (t: string, air: string, ...m: Array<'sync' | 'async'>): Schema => ({
  taskType: taskType(t),
  taskUUID,
  model: withId('api/model', { title: 'Model', type: 'string', const: air }),
  deliveryMethod: delivery(...m),
  webhookURL: { type: 'string', format: 'uri', description: 'A URL the result is POSTed to.' },
  includeCost: { type: 'boolean', default: false, description: 'Report the task cost in USD.' },
  outputType: { type: 'string', enum: ['URL', 'base64Data', 'dataURI'], default: 'URL' },
  ttl: { type: 'integer', minimum: 60, description: 'Seconds the output URL stays valid.' },
});
const prompt = (min = 2, max = 3000): Schema =>
  withId('inference/positive-prompt', {
    title: 'Positive Prompt',
    type: 'string',
    minLength: min,
    maxLength: max,
    description: 'What to generate.',
  });
const image = (description: string): Schema => ({
  type: 'string',
  description: `${description} A URL, data URI, base64 string or media UUID.`,
});
const results = (max: number): Schema => ({
  type: 'integer',
  minimum: 1,
  maximum: max,
  default: 1,
  description: 'How many outputs.',
});

function request(
  t: string,
  air: string,
  delivery: Array<'sync' | 'async'>,
  props: Schema,
  required: string[],
  extra: Schema = {},
): Schema {
  return {
    $schema: 'https://json-schema.org/draft/2019-09/schema',
    $id: `https://schemas.runware.ai/requests/models/${encodeURIComponent(air)}.json`,
    title: `${t} request`,
    type: 'object',
    properties: { ...common(t, air, ...delivery), ...props },
    required: ['taskType', 'taskUUID', 'model', ...required],
    additionalProperties: false,
    ...extra,
  };
}

const fluxDev = request(
  'imageInference',
  'runware:101@1',
  ['sync', 'async'],
  {
    positivePrompt: prompt(),
    negativePrompt: { type: 'string', maxLength: 3000, description: 'Ignored by FLUX.' },
    width: {
      type: 'integer',
      minimum: 128,
      maximum: 2048,
      multipleOf: 16,
      default: 1024,
      description: 'Pixels, a multiple of 16.',
    },
    height: {
      type: 'integer',
      minimum: 128,
      maximum: 2048,
      multipleOf: 16,
      default: 1024,
      description: 'Pixels, a multiple of 16.',
    },
    steps: { type: 'integer', minimum: 1, maximum: 100, default: 28 },
    CFGScale: { type: 'number', minimum: 0, maximum: 50, default: 3.5 },
    trueCFGScale: {
      type: 'number',
      minimum: 1,
      maximum: 20,
      description: 'True classifier-free guidance; slower, follows negative prompts.',
    },
    scheduler: { type: 'string', default: 'Default' },
    seed: { type: 'integer', minimum: 0, maximum: 9223372036854776000 },
    numberResults: results(20),
    outputFormat: { type: 'string', enum: ['JPG', 'PNG', 'WEBP'], default: 'JPG' },
    outputQuality: { type: 'integer', minimum: 20, maximum: 99, default: 95 },
    watermark: { type: 'boolean', default: false, description: 'Add an invisible watermark.' },
    seedImage: image('Image to start from (image-to-image).'),
    maskImage: image('White areas are repainted (inpainting).'),
    strength: { type: 'number', minimum: 0, maximum: 1, default: 0.8 },
    referenceImages: { type: 'array', maxItems: 4, items: image('A reference image.') },
    lora: {
      type: 'array',
      maxItems: 8,
      items: withId('inference/lora', {
        type: 'object',
        properties: { model: { type: 'string' }, weight: { type: 'number', minimum: -4, maximum: 4, default: 1 } },
        required: ['model'],
        additionalProperties: false,
      }),
    },
    // The same vestigial $id twice, as real schemas have; a compile must not trip on it.
    lycoris: {
      type: 'array',
      items: withId('inference/lora', {
        type: 'object',
        properties: { model: { type: 'string' }, weight: { type: 'number' } },
        required: ['model'],
      }),
    },
    acePlusPlus: {
      type: 'object',
      properties: {
        type: { type: 'string', enum: ['portrait', 'subject', 'local_editing'] },
        inputImages: { type: 'array', items: image('An input image.') },
        repaintingScale: { type: 'number', minimum: 0, maximum: 1 },
      },
      additionalProperties: false,
    },
    safety: { type: 'object', properties: { checkContent: { type: 'boolean' } } },
  },
  ['positivePrompt'],
  { dependentRequired: { maskImage: ['seedImage'] } },
);

const imagenSizes = [
  ['1:1', 1024, 1024],
  ['16:9', 1408, 768],
  ['9:16', 768, 1408],
  ['4:3', 1280, 896],
  ['3:4', 896, 1280],
] as const;
const imagen = request(
  'imageInference',
  'google:imagen@4',
  ['sync', 'async'],
  {
    positivePrompt: prompt(2, 2000),
    width: {
      type: 'integer',
      enum: [...new Set(imagenSizes.map((s) => s[1]))],
      default: 1024,
      description: 'One of the fixed sizes; see the combinations.',
    },
    height: { type: 'integer', enum: [...new Set(imagenSizes.map((s) => s[2]))], default: 1024 },
    numberResults: results(4),
    outputFormat: { type: 'string', enum: ['JPG', 'PNG', 'WEBP'], default: 'JPG' },
    seed: { type: 'integer', minimum: 0 },
  },
  ['positivePrompt'],
  {
    allOf: [
      {
        oneOf: imagenSizes.map(([title, w, h]) => ({
          title,
          properties: { width: { const: w }, height: { const: h } },
        })),
      },
    ],
  },
);

const kling = request(
  'videoInference',
  'klingai:5@3',
  ['async'],
  {
    positivePrompt: prompt(2, 2500),
    negativePrompt: { type: 'string', maxLength: 2500 },
    duration: { type: 'integer', enum: [5, 10], default: 5, description: 'Seconds.' },
    width: { type: 'integer', enum: [1920, 1080], default: 1920 },
    height: { type: 'integer', enum: [1080, 1920], default: 1080 },
    outputFormat: { type: 'string', enum: ['MP4', 'WEBM'], default: 'MP4' },
    numberResults: results(4),
    seed: { type: 'integer', minimum: 0 },
    inputs: {
      type: 'object',
      properties: {
        frameImages: {
          type: 'array',
          maxItems: 2,
          items: {
            type: 'object',
            properties: { image: image('A frame.'), frame: { type: 'string', enum: ['first', 'last'] } },
            required: ['image'],
          },
        },
        referenceImages: { type: 'array', maxItems: 4, items: image('A reference image.') },
      },
      additionalProperties: false,
    },
  },
  ['positivePrompt'],
);

const music = request(
  'audioInference',
  'minimax:music@2.6',
  ['sync', 'async'],
  {
    positivePrompt: prompt(2, 2000),
    duration: { type: 'number', minimum: 5, maximum: 300, default: 30, description: 'Seconds.' },
    outputFormat: { type: 'string', enum: ['MP3', 'WAV'], default: 'MP3' },
    numberResults: results(3),
  },
  ['positivePrompt'],
);

const hunyuan3d = request(
  '3dInference',
  'tencent:hunyuan-3d@3.1-pro',
  ['async'],
  {
    inputs: {
      type: 'object',
      properties: { images: { type: 'array', minItems: 1, maxItems: 4, items: image('A view of the object.') } },
      required: ['images'],
      additionalProperties: false,
    },
    outputFormat: { type: 'string', enum: ['GLB'], default: 'GLB' },
  },
  ['inputs'],
);

const rmbg = request(
  'removeBackground',
  'runware:109@1',
  ['sync', 'async'],
  {
    inputImage: image('The image to cut out.'),
    outputFormat: { type: 'string', enum: ['PNG', 'WEBP'], default: 'PNG', description: 'Formats with transparency.' },
  },
  ['inputImage'],
);

const captioner = request(
  'caption',
  'runware:151@1',
  ['sync', 'async'],
  {
    inputImage: image('The image to describe.'),
    prompt: { type: 'string', maxLength: 1000, description: 'What to ask about the image.' },
  },
  ['inputImage'],
);

const seedance = request(
  'videoInference',
  'bytedance:1@1',
  ['async'],
  {
    positivePrompt: prompt(2, 2000),
    duration: { type: 'integer', enum: [5, 10], default: 5, description: 'Seconds.' },
    width: { type: 'integer', enum: [864, 480, 640], default: 864 },
    height: { type: 'integer', enum: [480, 864, 640], default: 480 },
    outputFormat: { type: 'string', enum: ['MP4', 'WEBM'], default: 'MP4' },
    seed: { type: 'integer', minimum: 0 },
    inputs: {
      type: 'object',
      properties: {
        frameImages: {
          type: 'array',
          maxItems: 2,
          items: {
            type: 'object',
            properties: { image: image('A frame.'), frame: { type: 'string', enum: ['first', 'last'] } },
            required: ['image'],
          },
        },
      },
      additionalProperties: false,
    },
  },
  ['positivePrompt'],
  {
    allOf: [
      {
        oneOf: [
          ['16:9', 864, 480],
          ['9:16', 480, 864],
          ['1:1', 640, 640],
        ].map(([title, w, h]) => ({ title, properties: { width: { const: w }, height: { const: h } } })),
      },
    ],
  },
);

const speech = request(
  'audioInference',
  'minimax:speech@2.6-hd',
  ['sync', 'async'],
  {
    speech: {
      type: 'object',
      description: 'What to say, and how.',
      properties: {
        text: { type: 'string', minLength: 1, maxLength: 5000, description: 'The words to speak.' },
        voice: {
          type: 'string',
          enum: ['Friendly_Person', 'Wise_Woman', 'Deep_Voice_Man', 'Calm_Woman'],
          default: 'Friendly_Person',
        },
        speed: { type: 'number', minimum: 0.5, maximum: 2, default: 1 },
      },
      required: ['text'],
      additionalProperties: false,
    },
    outputFormat: { type: 'string', enum: ['MP3', 'WAV'], default: 'MP3' },
    numberResults: results(3),
  },
  ['speech'],
);

const upscaler = request(
  'upscale',
  'runware:501@1',
  ['sync', 'async'],
  {
    inputImage: image('The image to enlarge.'),
    upscaleFactor: { type: 'integer', enum: [2, 3, 4], default: 2, description: 'How many times larger.' },
    outputFormat: { type: 'string', enum: ['JPG', 'PNG', 'WEBP'], default: 'PNG' },
  },
  ['inputImage'],
);

const kontextPro = request(
  'imageInference',
  'bfl:3@1',
  ['sync', 'async'],
  {
    positivePrompt: prompt(2, 3000),
    referenceImages: {
      type: 'array',
      minItems: 1,
      maxItems: 4,
      items: image('The image to edit.'),
      description: 'The image(s) to edit; the prompt says what changes.',
    },
    width: { type: 'integer', minimum: 256, maximum: 2048, multipleOf: 16, default: 1024 },
    height: { type: 'integer', minimum: 256, maximum: 2048, multipleOf: 16, default: 1024 },
    outputFormat: { type: 'string', enum: ['JPG', 'PNG', 'WEBP'], default: 'JPG' },
    numberResults: results(4),
    seed: { type: 'integer', minimum: 0 },
  },
  ['positivePrompt', 'referenceImages'],
);

const response = (t: string): Schema => ({
  type: 'object',
  properties: { taskType: { const: t }, taskUUID: { type: 'string' } },
});

export interface SimSchemaEntry {
  air: string;
  slug: string;
  name: string;
  taskType: string;
  requestSchema: Schema;
  /** Pricing as the content service shows it. */
  pricingOverview: string;
  pricingExamples: Array<{ configuration: string; price: string }>;
}

const entry = (
  air: string,
  slug: string,
  name: string,
  requestSchema: Schema,
  pricingOverview: string,
  pricingExamples: SimSchemaEntry['pricingExamples'],
): SimSchemaEntry => ({
  air,
  slug,
  name,
  requestSchema,
  taskType: String(((requestSchema.properties as Schema).taskType as Schema).const),
  pricingOverview,
  pricingExamples,
});

export const SCHEMAS: readonly SimSchemaEntry[] = [
  entry('runware:101@1', 'flux-1-dev', 'FLUX.1 [dev]', fluxDev, 'From $0.0038 per image', [
    { configuration: '1024x1024, 28 steps', price: '$0.0038' },
    { configuration: '1024x1024, 50 steps', price: '$0.0068' },
  ]),
  entry('google:imagen@4', 'imagen-4', 'Imagen 4', imagen, '$0.04 per image', [
    { configuration: 'any size', price: '$0.04' },
  ]),
  entry('klingai:5@3', 'kling-2-1-master', 'Kling 2.1 Master', kling, 'From $0.92 per video', [
    { configuration: '5 s, 1080p', price: '$0.92' },
    { configuration: '10 s, 1080p', price: '$1.84' },
  ]),
  entry('minimax:music@2.6', 'minimax-music-2-6', 'MiniMax Music 2.6', music, '$0.03 per track', [
    { configuration: 'up to 5 min', price: '$0.03' },
  ]),
  entry('tencent:hunyuan-3d@3.1-pro', 'hunyuan-3d-3-1-pro', 'Hunyuan3D 3.1 Pro', hunyuan3d, '$0.25 per model', [
    { configuration: 'GLB', price: '$0.25' },
  ]),
  entry('runware:109@1', 'rmbg-2-0', 'RMBG 2.0', rmbg, '$0.0006 per image', [
    { configuration: 'any size', price: '$0.0006' },
  ]),
  entry('runware:151@1', 'image-caption', 'Image caption', captioner, '$0.0002 per caption', []),
  entry('bytedance:1@1', 'seedance-1-0-lite', 'Seedance 1.0 Lite', seedance, 'From $0.14 per video', [
    { configuration: '5 s, 480p', price: '$0.14' },
    { configuration: '10 s, 480p', price: '$0.28' },
  ]),
  entry(
    'minimax:speech@2.6-hd',
    'minimax-speech-2-6-hd',
    'MiniMax Speech 2.6 HD',
    speech,
    '$0.10 per 1,000 characters',
    [{ configuration: '1,000 characters', price: '$0.10' }],
  ),
  entry('runware:501@1', 'real-esrgan-x4', 'Real-ESRGAN', upscaler, '$0.0019 per image', [
    { configuration: '2x, up to 4 MP output', price: '$0.0019' },
    { configuration: '4x, up to 16 MP output', price: '$0.0052' },
  ]),
  entry('bfl:3@1', 'flux-1-kontext-pro', 'FLUX.1 Kontext [pro]', kontextPro, '$0.04 per image', [
    { configuration: '1024x1024', price: '$0.04' },
  ]),
];

export function schemaFor(air: string): SimSchemaEntry | undefined {
  return SCHEMAS.find((s) => s.air === air || s.slug === air);
}

/** `/resolve/{AIR}`'s body. */
export function resolveBody(e: SimSchemaEntry): Schema {
  return {
    requestSchema: e.requestSchema,
    responseSchema: response(e.taskType),
    documentation: `https://runware.ai/docs/models/${e.slug}`,
  };
}

export const REGISTRY_VERSION = '20261201120000';

export function registryBody(): Schema {
  return {
    version: REGISTRY_VERSION,
    models: Object.fromEntries(SCHEMAS.map((s) => [s.air, { taskType: s.taskType, id: s.slug }])),
    architectureTaskTypes: {
      flux1d: 'imageInference',
      flux1s: 'imageInference',
      flux2d: 'imageInference',
      sdxl: 'imageInference',
      sd1x: 'imageInference',
      pony: 'imageInference',
      hidream: 'imageInference',
      qwen_image: 'imageInference',
    },
    modalityTaskTypes: {
      image: 'imageInference',
      video: 'videoInference',
      audio: 'audioInference',
      '3d': '3dInference',
    },
  };
}

/** A hostile schema service's answer built on a real one (see SimOptions.hostileSchema). */
export function hostileSchema(body: Schema, kind: 'redos' | 'deep' | 'loop' | 'huge' | 'poisoned'): Schema {
  const request = body.requestSchema as Record<string, unknown> & {
    properties: Record<string, Record<string, unknown>>;
  };
  const props = { ...request.properties };
  switch (kind) {
    case 'redos':
      // Backtracking engines take exponential time on "aaaa…a!".
      for (const [k, v] of Object.entries(props))
        if (v?.type === 'string' && !v.enum && !v.const) props[k] = { ...v, pattern: '^(a+)+$' };
      return { ...body, requestSchema: { ...request, properties: props } };
    case 'deep': {
      let node: Record<string, unknown> = { type: 'string' };
      for (let i = 0; i < 2000; i++) node = { type: 'object', properties: { x: node } };
      return { ...body, requestSchema: { ...request, properties: { ...props, nested: node } } };
    }
    case 'loop':
      return { ...body, requestSchema: { ...request, allOf: [{ $ref: '#' }] } };
    case 'huge':
      return { ...body, requestSchema: { ...request, description: 'x'.repeat(5 * 1024 * 1024 + 1) } };
    case 'poisoned':
      for (const [k, v] of Object.entries(props))
        if (/prompt/i.test(k) && v?.type === 'string') props[k] = { ...v, maxLength: 1 };
      return { ...body, requestSchema: { ...request, properties: props } };
  }
}
