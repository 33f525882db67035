import { AsyncLocalStorage } from 'node:async_hooks';
import { scrubber } from './redact.js';

/** Whose work a log record describes (an MCP session), carried through async calls. */
const owners = new AsyncLocalStorage<symbol>();

/** Runs `fn` so that every record logged inside it, however deep, is owned by `owner`. */
export function runOwned<T>(owner: symbol, fn: () => T): T {
  return owners.run(owner, fn);
}

/** MCP's syslog-style levels, so a log line maps 1:1 onto notifications/message. */
export const LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const;
export type LogLevel = (typeof LEVELS)[number];

export interface LogRecord {
  level: LogLevel;
  scope: string;
  message: string;
  data?: Record<string, unknown>;
  /** The session whose work this describes, when logged inside runOwned(). */
  owner?: symbol;
}

export type LogSink = (record: LogRecord) => void;

const rank = (l: LogLevel): number => LEVELS.indexOf(l);

/**
 * The one logger. Records are scrubbed (secrets, URL signatures, JWTs) before
 * any sink sees them; the default sink writes to stderr, never stdout.
 */
export class Logger {
  private readonly sinks = new Set<LogSink>();
  constructor(
    private minLevel: LogLevel = 'info',
    private readonly scope = 'runware-mcp',
    private readonly root?: Logger,
  ) {}

  setLevel(level: LogLevel): void {
    (this.root ?? this).minLevel = level;
  }

  /** Adds a sink; returns its removal function. */
  addSink(sink: LogSink): () => void {
    const r = this.root ?? this;
    r.sinks.add(sink);
    return () => r.sinks.delete(sink);
  }

  child(scope: string): Logger {
    return new Logger(this.minLevel, scope, this.root ?? this);
  }

  log(level: LogLevel, message: string, data?: Record<string, unknown>): void {
    const r = this.root ?? this;
    if (rank(level) < rank(r.minLevel)) return;
    const owner = owners.getStore();
    const record: LogRecord = {
      level,
      scope: this.scope,
      message: scrubber.forLog(message),
      ...(data ? { data: scrubber.valueForLog(data) } : {}),
      ...(owner ? { owner } : {}),
    };
    for (const sink of r.sinks) {
      try {
        sink(record);
      } catch {
        // A broken sink must never break the caller.
      }
    }
  }

  debug(m: string, d?: Record<string, unknown>): void {
    this.log('debug', m, d);
  }
  info(m: string, d?: Record<string, unknown>): void {
    this.log('info', m, d);
  }
  notice(m: string, d?: Record<string, unknown>): void {
    this.log('notice', m, d);
  }
  warn(m: string, d?: Record<string, unknown>): void {
    this.log('warning', m, d);
  }
  error(m: string, d?: Record<string, unknown>): void {
    this.log('error', m, d);
  }
}

/** Writes one line per record to stderr. */
export const stderrSink: LogSink = (r) => {
  const data = r.data ? ` ${JSON.stringify(r.data)}` : '';
  process.stderr.write(`[${r.scope}] ${r.level}: ${r.message}${data}\n`);
};
