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
