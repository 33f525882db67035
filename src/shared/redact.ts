/**
 * The one scrubber. Everything that leaves the process (tool results, CLI
 * stdout, log lines, saved JSON, error text) passes through `scrubber`.
 *
 * Two strengths:
 * - `text`/`value`: configured secret values, bearer credentials, and fields
 *   whose name marks a secret (password, apiKey, jwt.token, ...). Signed output
 *   URLs survive, because users need them to download what they asked for.
 * - `forLog`: all of the above, plus URL signatures and anything shaped like a
 *   JWT, because logs must never hold a working capability link.
 */
export const REDACTED = '[REDACTED]';

/** Field names whose values are secrets wherever they appear. */
const SECRET_FIELD = /^(api[-_]?key|apikey|password|passwd|pass|secret|client[-_]?secret|token|access[-_]?token|refresh[-_]?token|id[-_]?token|authorization|proxy-authorization|x-api-key|cookie|set-cookie|jwt|session[-_]?token)$/i;

/** Query parameters that make a URL a capability (signed links). */
const SIGNATURE_PARAM = /^(_jwt|jwt|token|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|se|sp|sv|skoid|sktid)$/i;

const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=:@-]{4,}/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;
const URL_IN_TEXT = /https?:\/\/[^\s"'<>`]+/g;

/** Secrets shorter than this are not registered: replacing them would mangle ordinary text. */
const MIN_SECRET_LENGTH = 6;

export class Scrubber {
  private secrets: string[] = [];

  /** Registers secret values (keys, tokens, passwords) to scrub everywhere. */
  addSecrets(...values: Array<string | undefined | null>): void {
    for (const v of values) {
      if (typeof v !== 'string') continue;
      const s = v.trim();
      if (s.length < MIN_SECRET_LENGTH || this.secrets.includes(s)) continue;
      this.secrets.push(s);
      // The same secret as it appears URL-encoded or JSON-escaped.
      for (const variant of [encodeURIComponent(s), JSON.stringify(s).slice(1, -1)]) {
        if (variant !== s && !this.secrets.includes(variant)) this.secrets.push(variant);
      }
    }
    // Longest first, so a secret that contains another is replaced whole.
    this.secrets.sort((a, b) => b.length - a.length);
  }

  /** Whether `text` contains any registered secret value. */
  containsSecret(text: string): boolean {
    return this.secrets.some((s) => text.includes(s));
  }

  text(input: string): string {
    let out = input;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
    return out.replace(BEARER, (_m, scheme: string) => `${scheme} ${REDACTED}`);
  }

  /** A deep copy of `input` with secret fields and secret values replaced. */
  value<T>(input: T): T {
    return this.walk(input, (s) => this.text(s), 0) as T;
  }

  forLog(input: string): string {
    return this.text(input).replace(URL_IN_TEXT, (u) => stripUrlSignature(u)).replace(JWT, REDACTED);
  }

  valueForLog<T>(input: T): T {
    return this.walk(input, (s) => this.forLog(s), 0) as T;
  }

  /** Copies `v`, passing strings through `onString`; under a secret-named key every string value goes. */
  private walk(v: unknown, onString: (s: string) => string, depth: number, redactAll = false): unknown {
    if (typeof v === 'string') return redactAll ? REDACTED : onString(v);
    if (v === null || typeof v !== 'object') return v;
    if (depth > 64) return '[TOO DEEP]';
    if (v instanceof Error) return onString(v.message);
    if (Array.isArray(v)) return v.map((x) => this.walk(x, onString, depth + 1, redactAll));
    if (ArrayBuffer.isView(v)) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const named = SECRET_FIELD.test(k);
      const primitive = x === null || typeof x !== 'object';
      // A secret-named field loses its value; a secret-named object (useapi's `jwt: {token, exp}`)
      // keeps its shape and numbers but loses every string.
      out[onString(k)] = named && primitive && x !== null && x !== undefined ? REDACTED : this.walk(x, onString, depth + 1, redactAll || named);
    }
    return out;
  }
}

/** Removes signature-bearing query parameters from a URL; other text is returned as is. */
export function stripUrlSignature(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  let changed = false;
  for (const name of [...parsed.searchParams.keys()]) {
    if (SIGNATURE_PARAM.test(name)) {
      parsed.searchParams.delete(name);
      changed = true;
    }
  }
  if (parsed.username || parsed.password) {
    parsed.username = '';
    parsed.password = '';
    changed = true;
  }
  return changed ? parsed.toString() : url;
}

/** Whether a URL carries a signature parameter. */
export function isSignedUrl(url: string): boolean {
  try {
    return [...new URL(url).searchParams.keys()].some((k) => SIGNATURE_PARAM.test(k));
  } catch {
    return false;
  }
}

/** The process-wide scrubber; config registers every secret it reads. */
export const scrubber = new Scrubber();
