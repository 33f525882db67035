/**
 * Prompts: the few requests people and agents really make, written as the
 * exact tool calls that do them well (search before guessing a model, save
 * into the project, poll instead of re-running, mind the cost). Model and
 * taskUUID arguments complete (completions.ts).
 */
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { GetPromptResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { AppContext } from '../services/context.js';
import { completeCapability, completeModel, completeTaskUuid } from './completions.js';

const user = (text: string): GetPromptResult => ({ messages: [{ role: 'user', content: { type: 'text', text } }] });
const q = (s: string): string => JSON.stringify(s);

export function registerPrompts(server: McpServer, app: AppContext): void {
  const model = (desc: string) =>
    completable(z.string().max(200).optional().describe(desc), (v) => completeModel(app, v ?? ''));

  server.registerPrompt(
    'generate_image',
    {
      title: 'Generate an image for this project',
      description:
        'An image from a description, in a style, saved into the project (with the model chosen by search when none is given).',
      argsSchema: {
        subject: z.string().min(1).max(2000).describe('What the image shows'),
        style: z.string().max(200).optional().describe('A look, e.g. "watercolor", "product photo", "pixel art"'),
        model: model('An AIR id; omitted, one is searched for the style'),
        saveTo: z.string().max(500).optional().describe('Folder inside the project, e.g. "assets/images/"'),
      },
    },
    ({ subject, style, model: air, saveTo }) =>
      user(
        [
          `Generate an image for this project: ${subject}${style ? `, in the style "${style}"` : ''}.`,
          air
            ? `Use the model ${air}.`
            : `First pick a model: runware_model_search with {"search": ${q(style || 'flux')}, "limit": 5}; choose the best-suited "air" (FLUX models for general and photo styles).`,
          `Then call runware_text_to_image with {"prompt": <a vivid, specific prompt from the subject and style>, ${air ? `"model": ${q(air)}, ` : '"model": <the chosen air>, '}"saveTo": ${q(saveTo || 'images/')}}.`,
          'If it answers "processing", call runware_poll with its taskUUID; never run it again (each run is billed).',
          'Finally tell me the saved path, the seed and the cost.',
        ].join('\n'),
      ),
  );

  server.registerPrompt(
    'image_to_video',
    {
      title: 'Make a short video from an image',
      description: 'A few seconds of video from one image (a local path or URL), with the motion described.',
      argsSchema: {
        image: z.string().min(1).max(2000).describe('A local image path or an https URL'),
        motion: z.string().max(1000).optional().describe('What moves, e.g. "slow push-in, leaves drifting"'),
        model: model('A video model AIR id; omitted, one is found by capability'),
        saveTo: z.string().max(500).optional().describe('Folder inside the project, e.g. "assets/video/"'),
      },
    },
    ({ image, motion, model: air, saveTo }) => {
      const m = air ? q(air) : '<the chosen air>';
      return user(
        [
          `Make a short video from the image ${image}${motion ? ` with this motion: ${motion}` : ''}.`,
          ...(air
            ? []
            : [
                '0. runware_model_search with {"capability": "image-to-video", "limit": 5}: choose a model (price and quality).',
              ]),
          `1. runware_model_info with {"model": ${m}}: read its parameters (the image field's name, durations, sizes), its examples and its cost.`,
          `2. runware_run with {"model": ${m}, "params": {<the image field>: ${q(image)}, "positivePrompt": <the motion as a prompt>, <a short duration the model allows>}, "saveTo": ${q(saveTo || 'video/')}}. A local path is uploaded by the server.`,
          '3. Video takes minutes: when it answers "processing", call runware_poll with its taskUUID and waitSeconds 60 until it is done. Never call runware_run again for the same video (each run is billed).',
          'Tell me the saved path and the cost.',
        ].join('\n'),
      );
    },
  );

  server.registerPrompt(
    'find_model',
    {
      title: 'Find a model for a job',
      description:
        'The model for a job (a video from a photo, speech, upscaling, a style), found by capability, compared from model info, and run.',
      argsSchema: {
        need: z
          .string()
          .min(1)
          .max(300)
          .describe(
            'What the model must do or look like, e.g. "5 s video from a photo", "text to speech", "anime style"',
          ),
        capability: completable(
          z.string().max(100).optional().describe('A capability id, e.g. io:image-to-video, op:upscale'),
          (v) => completeCapability(app, v ?? ''),
        ),
      },
    },
    ({ need, capability }) =>
      user(
        [
          `Find the best Runware model for: ${need}.`,
          capability
            ? `1. The capability is ${capability}.`
            : '1. Pick the capability the job needs, e.g. text-to-image, image-to-image, image-editing, image-to-video, text-to-video, text-to-speech, text-to-music, image-to-3d, upscale, background-removal (an unknown one is answered with the full list).',
          `2. runware_model_search with {"capability": ${capability ? q(capability) : '<that capability>'}, "limit": 10}; add "search" with a name or style word only to narrow it (for a style, search ${q(need)} among text-to-image models).`,
          '3. runware_model_info with {"model": <air>} for the best two or three hits: compare parameters, price, and whether they are validated by a live schema.',
          '4. Recommend one, with its air and why. To run it: runware_run with {"model": <air>, "params": <one of its examples\' params, adapted>, "saveTo": <a folder>}; local file paths in params are uploaded. If it answers "processing", call runware_poll with its taskUUID; never run it again (each run is billed).',
        ].join('\n'),
      ),
  );

  server.registerPrompt(
    'check_task',
    {
      title: 'Check on a task',
      description: 'The state of an earlier task, its outputs saved, without running it again.',
      argsSchema: {
        taskUUID: completable(z.string().min(1).max(64).describe('The taskUUID (from runware_tasks)'), (v) =>
          completeTaskUuid(app, v ?? ''),
        ),
        saveTo: z.string().max(500).optional().describe('Folder to save its outputs to'),
      },
    },
    ({ taskUUID, saveTo }) =>
      user(
        [
          `Check on the Runware task ${taskUUID}.`,
          `Call runware_poll with {"taskUUID": ${q(taskUUID)}, "waitSeconds": 30${saveTo ? `, "saveTo": ${q(saveTo)}` : ''}}. It is free and never re-runs the task.`,
          'Report its status, progress, cost and the saved paths or URLs (URLs expire: say when).',
        ].join('\n'),
      ),
  );
}
