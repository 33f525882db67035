/**
 * The question before an expensive task, over MCP: an elicitation ("quoted at
 * $0.84, today's spend is $3.10 of $5; run it?") when the client supports it.
 * Without it, the call is refused with confirmation_required, whose `next`
 * says to call again with confirmCostUsd (src/runware/spend.ts).
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ElicitResultSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ConfirmOptions, ConfirmRequest } from '../runware/spend.js';
import { money } from '../runware/quote.js';

/** How long the user has to answer; past it the call is refused as if unasked. */
const ANSWER_MS = 5 * 60_000;

type SendRequest = (
  r: { method: 'elicitation/create'; params: Record<string, unknown> },
  schema: typeof ElicitResultSchema,
  options?: { timeout?: number; signal?: AbortSignal },
) => Promise<{ action: string; content?: Record<string, unknown> }>;

export const question = (r: ConfirmRequest): string =>
  `${r.what[0]!.toUpperCase()}${r.what.slice(1)} is quoted at ${money(r.quoteUsd)}; today's spend is ${money(r.spentTodayUsd)}${r.capUsd !== null ? ` of ${money(r.capUsd)}` : ''}. Run it?`;

/** The asker for one tool call, or undefined when the client cannot answer elicitations. */
export function elicitConfirm(server: McpServer, extra: unknown): ConfirmOptions['ask'] {
  if (!server.server.getClientCapabilities()?.elicitation) return undefined;
  const { sendRequest, signal } = extra as { sendRequest: SendRequest; signal?: AbortSignal };
  return async (r) => {
    try {
      const res = await sendRequest(
        {
          method: 'elicitation/create',
          params: {
            message: question(r),
            requestedSchema: {
              type: 'object',
              properties: {
                run: {
                  type: 'boolean',
                  title: 'Run it',
                  description: `Spend up to ${money(r.quoteUsd)}`,
                  default: false,
                },
              },
              required: ['run'],
            },
          },
        },
        ElicitResultSchema,
        { timeout: ANSWER_MS, ...(signal ? { signal } : {}) },
      );
      return res.action === 'accept' && res.content?.run === true;
    } catch {
      // No answer (the client failed or timed out): refused as if it could not ask.
      return undefined;
    }
  };
}
