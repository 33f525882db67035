/**
 * Output-schema pieces several tools share, kept small: tools/list is read
 * into the agent's context on every session, so nested items name their main
 * fields and stay open (`loose`) rather than listing every optional one.
 */
import { z } from 'zod';

export const status = z.enum(['success', 'partial', 'processing', 'error', 'unknown']);
export const errors = z.array(z.object({ code: z.string(), message: z.string() }).loose());
/** The lineage: each attempt's taskUUID and outcome. */
export const attempts = z.array(z.record(z.string(), z.string())).optional();
export const uploads = z.array(z.object({ field: z.string(), mediaUUID: z.string() }).loose()).optional();
/** A task UUID, checked in full by the rules; a short pattern keeps the schema small. */
export const taskUUID = z.string().regex(/^[0-9a-fA-F-]{36}$/, 'must be the taskUUID of an earlier task');

/**
 * What every isError result carries as structuredContent. Kept bare (the
 * instructions say what the fields mean once): it is repeated in every tool's
 * output schema, which agents read on every session.
 */
export const toolError = z
  .object({
    kind: z.string(),
    message: z.string(),
    field: z.string().optional(),
    code: z.string().optional(),
    retryable: z.boolean().optional(),
    next: z.string().optional(),
  })
  .loose();

/**
 * The output schema as published: on success the tool's fields; on isError an
 * `error` object, with whatever partial fields the failure still has. Both
 * validate, so no field is required (the success shape is checked in tests).
 * A tool whose success has an `error` of its own (a Runway task's) takes either.
 */
export function published<T extends z.ZodObject>(success: T): z.ZodObject {
  const own = success.shape.error as z.ZodType | undefined;
  return success.partial().extend({ error: (own ? z.union([own, toolError]) : toolError).optional() });
}

/** On the billable tools: the user confirmed spending up to this (RUNWARE_CONFIRM_ABOVE_USD); the instructions say when. */
export const confirmCostUsd = z.number().min(0).optional();

/** A real charge above its reservation, in one sentence (runware_account has the numbers): a string keeps tools/list small. */
export const overrun = z.string().optional();
