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
import { foldEach, foldUnit, indexable, NeedleIndex, WINDOW } from './needles.js';
import { mayEscape, mayHide, readerView } from './reader-view.js';

export const REDACTED = '[REDACTED]';

/** Field names whose values are secrets wherever they appear. */
const SECRET_FIELD =
  /^(api[-_]?key|apikey|password|passwd|pass|secret|client[-_]?secret|token|access[-_]?token|refresh[-_]?token|id[-_]?token|authorization|proxy-authorization|x-api-key|cookie|set-cookie|jwt|session[-_]?token)$/i;

/** Query parameters that make a URL a capability (signed links). */
const SIGNATURE_PARAM =
  /^(_jwt|jwt|token|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|se|sp|sv|skoid|sktid)$/i;

/** Auth schemes are case-sensitive here, and need a token-sized credential: "a basic watercolor" stays. */
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=:@-]{16,}/g;
const JWT = /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;
/** `password=…`, `"secret": "…"` and the like in free text (an upstream error that echoes a credential). */
const CREDENTIAL_IN_TEXT =
  /\b(password|passwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token)(["']?\s*[=:]\s*["']?)((?=[^\s"'&,;}]*[0-9_+/=-])[^\s"'&,;}]{6,})/gi;
const URL_IN_TEXT = /https?:\/\/[^\s"'<>`]+/g;

/**
 * A configured secret shorter than this is refused at start-up (config.ts):
 * scrubbing it would mangle ordinary text, and not scrubbing it would leak it.
 */
export const MIN_SECRET_LENGTH = 12;
/** Any run of this many characters of a secret (case-insensitive) counts as the secret: prefixes, halves split across fields. */
const FRAGMENT = WINDOW;
/** The shortest text `text()` can change: a FRAGMENT of a secret. Keys and small values skip the scan. */
const SHORTEST = FRAGMENT;

/** `encode(secret)`, or nothing when it throws (a lone surrogate). */
function formOf(secret: string, encode: (s: string) => string): string[] {
  try {
    return [encode(secret)];
  } catch {
    return [];
  }
}

/** The ways a URL spells a secret: as a component, as a whole URL (reserved characters kept), as a form field (space as +, !'()~ escaped), as a password in user info. */
function urlForms(secret: string): string[] {
  return [
    ...formOf(secret, encodeURIComponent),
    ...formOf(secret, encodeURI),
    ...formOf(secret, (s) => new URLSearchParams([['', s]]).toString().slice(1)),
    ...formOf(secret, (s) => {
      const u = new URL('http://h');
      u.password = s;
      return u.password;
    }),
  ];
}

/**
 * Every form a secret can take in output: as is, in either case, URL-escaped (component, URI, form, user info),
 * JSON-escaped (with and without escaped slashes), base64 (any alignment), hex.
 */
export function encodedForms(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  const forms = new Set<string>([secret, ...urlForms(secret), json, json.replace(/\//g, '\\/')]);
  const buf = Buffer.from(secret, 'utf8');
  for (let pad = 0; pad < 3; pad++) {
    // The key inside a longer base64 string starts at one of three alignments; drop the edge characters that depend on neighbours.
    const b64 = Buffer.concat([Buffer.alloc(pad), buf]).toString('base64');
    const core = b64.slice(pad === 0 ? 0 : Math.ceil((pad * 4) / 3), b64.length - 4);
    if (core.length >= FRAGMENT) {
      forms.add(core);
      forms.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  forms.add(buf.toString('hex'));
  // A form that JSON escapes (a backslash in it, a quote) is spelled escaped in JSON text: in a result's text, and in a
  // message that quotes JSON. json() looks for secrets in that text, so it must know these spellings too.
  for (const f of [...forms]) forms.add(JSON.stringify(f).slice(1, -1));
  return [...forms].filter((f) => f.length >= Math.min(FRAGMENT, secret.length));
}

interface Registered {
  /** Case-folded forms, matched case-insensitively. */
  folded: string[];
  /** Case-sensitive forms (base64 is case-sensitive). */
  exact: string[];
  /** Case-folded windows of FRAGMENT characters of the secret itself. */
  windows: string[];
}

/**
 * Words without which no scrubbing rule can fire, as they appear in JSON text:
 * auth schemes, JWTs, credential words in free text, and secret field names.
 * A JSON text with none of these (and no registered secret) comes out unchanged.
 */
const SUSPECT = /bearer|basic|eyJ|pass|secret|api[-_]?key|token|authorization|cookie|jwt/i;

/** Whether a search of `text` as it is may miss what a reader sees: escapes to decode, invisible characters. */
const mayDisguise = (text: string): boolean => mayEscape(text) || mayHide(text);

/** What escapes are made of: an escape decoded to one of these may be half of another (`%2562` is `%62`, then `b`). */
const ESCAPE_PARTS = '%&#;\\{}0123456789abcdefABCDEFuUxXamp';

export class Scrubber {
  private readonly registered = new Map<string, Registered>();
  /** A registered secret that JSON escapes (a quote, a backslash, a control character) defeats the fast path. */
  private escapes = false;
  /** Every form of every secret, searched in one pass; undefined when one is not ASCII (then one indexOf per form). */
  private index: NeedleIndex | undefined;
  /** ASCII characters, by code, that some form holds (either case) or that escapes are made of. */
  private readonly wantedAscii = new Uint8Array(128);
  /** Whether some form holds a character that is not ASCII. */
  private wantsWide = false;
  /** Whether an escape decoded to `cp` can be part of a form: else the reader's view of a text is not worth a search. */
  private readonly wanted = (cp: number): boolean => {
    if (cp < 128) return this.wantedAscii[cp] === 1;
    if (cp > 0xffff) return true;
    const f = foldUnit(String.fromCharCode(cp)).charCodeAt(0);
    return f < 128 ? this.wantedAscii[f] === 1 : this.wantsWide;
  };

  /** Registers secret values (keys, tokens, passwords) to scrub everywhere. */
  addSecrets(...values: Array<string | undefined | null>): void {
    for (const v of values) {
      if (typeof v !== 'string') continue;
      const s = v.trim();
      // config.ts refuses shorter secrets; one registered anyway would mangle ordinary text.
      if (s.length < MIN_SECRET_LENGTH || this.registered.has(s)) continue;
      if (JSON.stringify(s) !== `"${s}"`) this.escapes = true;
      const forms = encodedForms(s);
      const windows = new Set<string>();
      const lower = foldEach(s);
      if (lower.length > FRAGMENT)
        for (let i = 0; i + FRAGMENT <= lower.length; i++) windows.add(lower.slice(i, i + FRAGMENT));
      const b64 = new Set(
        forms.filter(
          (f) => !f.includes(s) && /^[A-Za-z0-9+/_-]+$/.test(f) && f !== Buffer.from(s).toString('hex') && f !== s,
        ),
      );
      this.registered.set(s, {
        folded: forms
          .filter((f) => !b64.has(f))
          .map((f) => foldEach(f))
          .sort((a, b) => b.length - a.length),
        exact: [...b64].sort((a, b) => b.length - a.length),
        windows: [...windows],
      });
      this.want(ESCAPE_PARTS + forms.join(''));
    }
    const all = [...this.registered.values()];
    const folded = all.flatMap((r) => [...r.folded, ...r.windows]);
    const exact = all.flatMap((r) => r.exact);
    this.index = indexable([...folded, ...exact]) ? new NeedleIndex(folded, exact) : undefined;
  }

  /** Marks the characters of `chars`, in either case, as wanted. */
  private want(chars: string): void {
    for (const c of [...new Set(chars + chars.toLowerCase() + chars.toUpperCase())].map((x) => x.charCodeAt(0))) {
      if (c < 128) this.wantedAscii[c] = 1;
      else this.wantsWide = true;
    }
  }

  /** Whether `text` contains any registered secret, in any form. */
  containsSecret(text: string): boolean {
    const hit = this.index?.find(text, true);
    if (hit && (hit.length > 0 || !mayDisguise(text))) return hit.length > 0;
    return this.ranges(text).length > 0;
  }

  /**
   * Character ranges of `text` that hold a secret in some form: as it is, and as a reader takes it (escapes such as
   * `%62`, `&#98;`, `\u0062` decoded, invisible characters between its pieces dropped), each escape replaced whole.
   */
  private ranges(text: string): Array<[number, number]> {
    if (this.registered.size === 0 || text.length === 0) return [];
    const found = this.find(text);
    const view = readerView(text, this.wanted);
    if (view) for (const [a, b] of this.find(view.text)) found.push([view.from[a]!, view.to[b - 1]!]);
    if (found.length === 0) return [];
    found.sort((a, b) => a[0] - b[0]);
    const merged: Array<[number, number]> = [found[0]!];
    for (const [a, b] of found.slice(1)) {
      const last = merged[merged.length - 1]!;
      if (a <= last[1]) last[1] = Math.max(last[1], b);
      else merged.push([a, b]);
    }
    return merged;
  }

  private find(text: string): Array<[number, number]> {
    return this.index?.find(text) ?? this.scanEach(text);
  }

  /** One indexOf pass per form: for secrets the index cannot hold (not ASCII), and texts it gives up on. */
  private scanEach(text: string): Array<[number, number]> {
    const lower = foldEach(text);
    const found: Array<[number, number]> = [];
    const scan = (hay: string, needle: string): void => {
      for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + 1)) found.push([i, i + needle.length]);
    };
    for (const r of this.registered.values()) {
      for (const f of r.folded) scan(lower, f);
      for (const f of r.exact) scan(text, f);
      for (const w of r.windows) scan(lower, w);
    }
    return found;
  }

  private secretsOut(input: string): string {
    const rs = this.ranges(input);
    if (rs.length === 0) return input;
    let out = '';
    let at = 0;
    for (const [a, b] of rs) {
      out += input.slice(at, a) + REDACTED;
      at = b;
    }
    return out + input.slice(at);
  }

  /**
   * Secret values in any form, auth headers, and credentials in free text
   * (JWTs and `password=` outside URLs: signed output URLs keep working).
   */
  text(input: string): string {
    // Nothing scrubbed is shorter than this (a secret form, a bearer credential, a JWT, `secret=` and a value).
    if (input.length < SHORTEST) return input;
    const out = this.secretsOut(input).replace(BEARER, (_m, scheme: string) => `${scheme} ${REDACTED}`);
    return outsideUrls(out, (seg) =>
      seg
        .replace(JWT, REDACTED)
        .replace(CREDENTIAL_IN_TEXT, (_m, name: string, sep: string) => `${name}${sep}${REDACTED}`),
    );
  }

  /** A deep copy of `input` with secret fields and secret values replaced. */
  value<T>(input: T): T {
    return this.walk(input, (s) => this.text(s), 0) as T;
  }

  /**
   * `value()` and its JSON text, for results. Most results hold nothing to
   * scrub: their JSON is checked once for every secret form and every word a
   * rule needs, and only then is the value walked and copied.
   */
  json(input: unknown): { value: unknown; text: string } {
    const raw = JSON.stringify(input) ?? 'null';
    // A form with a backslash ("\/" for "/") is spelled with two in JSON text: look for it with them made one again.
    const seen = raw.includes('\\\\') ? raw.replace(/\\\\/g, '\\') : raw;
    if (!this.escapes && !SUSPECT.test(raw) && this.ranges(seen).length === 0) return { value: input, text: raw };
    const value = this.value(input);
    return { value, text: JSON.stringify(value) ?? 'null' };
  }

  forLog(input: string): string {
    return this.text(input)
      .replace(URL_IN_TEXT, (u) => stripUrlSignature(u))
      .replace(JWT, REDACTED);
  }

  /** Whether `name` is a registered secret's value (for tests and config checks). */
  has(value: string): boolean {
    return this.registered.has(value.trim());
  }

  valueForLog<T>(input: T): T {
    return this.walk(input, (s) => this.forLog(s), 0) as T;
  }

  /** Copies `v`, passing strings through `onString`; under a secret-named key every string value goes. */
  private walk(v: unknown, onString: (s: string) => string, depth: number, redactAll = false): unknown {
    if (typeof v === 'string') return redactAll ? REDACTED : onString(v);
    // A function is no data, and a copied own toJSON would print what it likes, unscrubbed, when the copy is serialised.
    if (typeof v === 'function') return undefined;
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
      const copy =
        named && primitive && x !== null && x !== undefined
          ? REDACTED
          : this.walk(x, onString, depth + 1, redactAll || named);
      // defineProperty, not assignment: a JSON key `__proto__` is an own property to keep, not a prototype to set.
      Object.defineProperty(out, onString(k), { value: copy, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
}

/** Applies `fn` to the parts of `text` that are not URLs. */
function outsideUrls(text: string, fn: (segment: string) => string): string {
  let out = '';
  let at = 0;
  for (const m of text.matchAll(URL_IN_TEXT)) {
    out += fn(text.slice(at, m.index)) + m[0];
    at = m.index + m[0].length;
  }
  return out + fn(text.slice(at));
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
