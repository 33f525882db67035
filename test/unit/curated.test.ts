/**
 * The content service's answers, parsed as hostile input: odd items dropped,
 * strings bounded, examples trimmed to the parameters that matter; and a
 * capability found however the caller spells it.
 */
import { describe, expect, it } from 'vitest';
import {
  matchCapability,
  parseCapabilities,
  parseCuratedModels,
  parseExamples,
  taskTypeFromCapabilities,
} from '../../src/runware/schemas/curated.js';

const CAPS = [
  { id: 'io:image-to-video', label: 'Image to video' },
  { id: 'op:background-removal', label: 'Background removal' },
  { id: 'op:upscale', label: 'Upscale' },
];

describe('content service parsing', () => {
  it('keeps well-formed models, drops null, air-less and openai-compatible ones, and bounds strings', () => {
    const models = parseCuratedModels({
      data: [
        null,
        7,
        { name: 'no air' },
        { air: 'x:1@1', status: 'openai-compatible' },
        {
          air: 'klingai:5@3',
          model: 'kling',
          name: 'K'.repeat(5000),
          capabilities: ['io:image-to-video', 3, null],
          weight: 'heavy',
          category: ['video'],
        },
      ],
    });
    expect(models).toHaveLength(1);
    expect(models[0]).toMatchObject({
      air: 'klingai:5@3',
      slug: 'kling',
      capabilities: ['io:image-to-video'],
      weight: 0,
      category: ['video'],
    });
    expect(models[0]!.name.length).toBe(200);
    expect(parseCuratedModels('not json at all')).toEqual([]);
    expect(parseCapabilities([{ id: 'io:text-to-image' }, { label: 'no id' }])).toEqual([
      { id: 'io:text-to-image', label: 'io:text-to-image' },
    ]);
  });

  it('trims examples to the parameters a caller passes, at most two, and skips empty or huge ones', () => {
    const request = (extra: Record<string, unknown>) => ({
      taskType: 'videoInference',
      taskUUID: 'u',
      model: 'klingai:5@3',
      deliveryMethod: 'async',
      includeCost: true,
      webhookURL: 'https://x',
      ...extra,
    });
    const ex = parseExamples({
      data: [
        { title: 'empty', request: request({}) },
        { title: 'huge', request: request({ positivePrompt: 'x'.repeat(3000) }) },
        { title: 'a', capability: 'io:image-to-video', request: request({ positivePrompt: 'waves', duration: 5 }) },
        { request: request({ positivePrompt: 'b' }) },
        { request: request({ positivePrompt: 'c' }) },
      ],
    });
    expect(ex).toEqual([
      { title: 'a', capability: 'io:image-to-video', params: { positivePrompt: 'waves', duration: 5 } },
      { params: { positivePrompt: 'b' } },
    ]);
  });

  it('finds a capability by id, by id without its prefix, or by label', () => {
    expect(matchCapability('op:upscale', CAPS)?.id).toBe('op:upscale');
    expect(matchCapability('image-to-video', CAPS)?.id).toBe('io:image-to-video');
    expect(matchCapability('Background Removal', CAPS)?.id).toBe('op:background-removal');
    expect(matchCapability('background_removal', CAPS)?.id).toBe('op:background-removal');
    expect(matchCapability('telepathy', CAPS)).toBeUndefined();
  });

  it('derives a task type from capabilities, then from the modality', () => {
    expect(taskTypeFromCapabilities(['io:text-to-video', 'io:image-to-video'])).toBe('videoInference');
    expect(taskTypeFromCapabilities(['io:text-to-speech'])).toBe('audioInference');
    expect(taskTypeFromCapabilities(['op:upscale'])).toBe('upscale');
    expect(taskTypeFromCapabilities(['op:background-removal'])).toBe('removeBackground');
    expect(taskTypeFromCapabilities(['io:image-to-text'])).toBe('caption');
    expect(taskTypeFromCapabilities(['op:image-editing'])).toBe('imageInference');
    expect(taskTypeFromCapabilities([], ['3d'])).toBe('3dInference');
    expect(taskTypeFromCapabilities([])).toBeUndefined();
  });
});
