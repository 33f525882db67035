/**
 * MCP over stdio, with the edges the SDK's transport leaves open closed:
 * - a line longer than the limit is discarded up to its newline and answered
 *   with a JSON-RPC error (its id when the head of the line shows one); the
 *   server goes on serving instead of exiting or going deaf;
 * - a line that is not JSON gets -32700, and a message that is not JSON-RPC
 *   gets -32600 with its id, where the SDK's transport answers nothing;
 * - send() resolves once the message is written to the OS, so a caller can
 *   await a notification's write before sending the response.
 */
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../shared/log.js';

export const MAX_LINE_BYTES = 10 * 1024 * 1024;

type Id = string | number | null;

/** The id of a JSON-RPC message, read from the head of its text (the rest may be too large or broken). */
export function idFromHead(head: string): Id {
  const m = /"id"\s*:\s*(-?\d+(?:\.\d+)?|"(?:[^"\\]|\\.){0,200}")/.exec(head);
  if (!m) return null;
  try {
    return JSON.parse(m[1]!) as string | number;
  } catch {
    return null;
  }
}

export class SafeStdioTransport implements Transport {
  onmessage?: (message: JSONRPCMessage) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;
  private chunks: Buffer[] = [];
  private size = 0;
  /** Discarding an oversized line until its newline; the head kept to find its id. */
  private discarding: { head: string; bytes: number } | undefined;
  private closed = false;

  constructor(
    private readonly log: Logger,
    private readonly stdin: NodeJS.ReadableStream = process.stdin,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly maxLine = MAX_LINE_BYTES,
  ) {}

  async start(): Promise<void> {
    this.stdin.on('data', this.onData);
    this.stdin.on('error', this.onStreamError);
    this.stdin.on('end', this.onEnd);
  }

  private readonly onStreamError = (e: Error): void => this.onerror?.(e);
  private readonly onEnd = (): void => void this.close();

  private readonly onData = (chunk: Buffer | string): void => {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    while (buf.length > 0) {
      const nl = buf.indexOf(10);
      const part = nl === -1 ? buf : buf.subarray(0, nl);
      if (this.discarding) {
        this.discarding.bytes += part.length;
      } else if (this.size + part.length > this.maxLine) {
        const head = Buffer.concat([...this.chunks, part])
          .subarray(0, 512)
          .toString('utf8');
        this.discarding = { head, bytes: this.size + part.length };
        this.chunks = [];
        this.size = 0;
      } else {
        this.chunks.push(part);
        this.size += part.length;
      }
      if (nl === -1) break;
      buf = buf.subarray(nl + 1);
      this.endOfLine();
    }
  };

  private endOfLine(): void {
    if (this.discarding) {
      const { head, bytes } = this.discarding;
      this.discarding = undefined;
      this.log.warn(`refused a ${bytes}-byte message: over the ${this.maxLine}-byte limit for one line`);
      this.reply(
        idFromHead(head),
        -32600,
        `Request too large: ${bytes} bytes, over the ${this.maxLine}-byte limit. Send large media by URL or upload it first.`,
      );
      return;
    }
    const line = Buffer.concat(this.chunks).toString('utf8').replace(/\r$/, '');
    this.chunks = [];
    this.size = 0;
    if (line.trim() === '') return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      this.reply(idFromHead(line.slice(0, 512)), -32700, 'Parse error: the line is not valid JSON.');
      return;
    }
    const parsed = JSONRPCMessageSchema.safeParse(raw);
    if (!parsed.success) {
      const id = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as { id?: unknown }).id : undefined;
      const issue = parsed.error.issues[0];
      const where = issue?.path?.length ? ` at ${issue.path.join('.')}` : '';
      this.reply(
        typeof id === 'string' || typeof id === 'number' ? id : null,
        -32600,
        `Invalid Request: not a JSON-RPC 2.0 message${where} (needs "jsonrpc": "2.0", and a "method" string or a "result"/"error").`,
      );
      return;
    }
    try {
      this.onmessage?.(parsed.data);
    } catch (e) {
      this.onerror?.(e as Error);
    }
  }

  private reply(id: Id, code: number, message: string): void {
    void this.send({ jsonrpc: '2.0', id, error: { code, message } } as unknown as JSONRPCMessage);
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) return Promise.resolve();
    // Resolves when the line is handed to the OS (the write callback), so a notification awaited
    // before a response is in the pipe before the response is written.
    return new Promise((resolve) => {
      this.stdout.write(`${JSON.stringify(message)}\n`, () => resolve());
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stdin.off('data', this.onData);
    this.stdin.off('error', this.onStreamError);
    this.stdin.off('end', this.onEnd);
    this.onclose?.();
  }
}
