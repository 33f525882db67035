/**
 * A text as a reader takes it: escape sequences decoded (`%62`, `&#98;`,
 * `&#x62;`, `\u0062`, `\x62`, `\u{62}`, `%u0062`, UTF-8 in percent bytes) and
 * invisible characters dropped, each unit of the result mapped back to the span
 * of the original that spells it. A secret spelled one escaped character at a
 * time is plain here, and a range found here covers the whole escaped span
 * there, so the scrubber can replace it without leaving an escaped byte behind.
 */

/** Format characters (zero-width, bidi controls, soft hyphen, tags): invisible where text is shown. */
const INVISIBLE = /\p{Cf}/u;
const INVISIBLE_CHAR = /^\p{Cf}$/u;

/** Whether `text` holds a format character; an ASCII text (as most are) is told apart first, four times as fast. */
export const mayHide = (text: string): boolean => Buffer.byteLength(text) !== text.length && INVISIBLE.test(text);
/** Whether `text` can hold an escape: a few searches for a fixed string, far cheaper than the pattern. */
export const mayEscape = (text: string): boolean =>
  text.includes('%') || text.includes('\\') || text.includes('&#') || text.includes('&amp;');

/**
 * One escape: a run of percent bytes (UTF-8 decoded together), `%uXXXX`, an HTML numeric reference (semicolon
 * optional, as browsers read it), `&amp;` (an escaped `&#`), or a JS/JSON escape. The backslashes before a JS/JSON
 * escape belong to it (`\\u0062` is how JSON text spells a string holding `\u0062`): they are taken in code, as
 * `\\+` in the pattern would go back over a long run of them from every position of it.
 */
const ESCAPE =
  /(?:%[0-9a-f]{2})+|%u[0-9a-f]{4}|&#(?:x[0-9a-f]+|[0-9]+);?|&amp;|\\(?:u[0-9a-f]{4}|u\{[0-9a-f]{1,6}\}|x[0-9a-f]{2})/gi;

/** How many rounds of decoding: `%2562` is `%62` after one, `b` after two. */
const ROUNDS = 3;

export interface ReaderView {
  text: string;
  /** Unit i of `text` is spelled by [from[i], to[i]) of the original. */
  from: Int32Array;
  to: Int32Array;
}

/** Whether a decoded code point can be part of what is looked for; an escape that decodes to none is left as it is. */
export type Wanted = (cp: number) => boolean;

/**
 * The reader's view of `text`, or undefined when a search of it would find nothing a search of `text` does not:
 * nothing invisible, and no escape that decodes to a `wanted` character (or to an invisible one, which joins its
 * neighbours). `%20` in a URL decodes to a space, a character of no secret: that text is searched once, as it is.
 */
export function readerView(text: string, wanted: Wanted = () => true): ReaderView | undefined {
  const hides = mayHide(text);
  if (!hides && !mayEscape(text)) return undefined;
  let view = decodeOnce(text, hides, wanted);
  if (!view) return undefined;
  for (let round = 1; round < ROUNDS && mayEscape(view.text); round++) {
    const next = decodeOnce(view.text, false, wanted);
    if (!next) break;
    view = compose(view, next);
  }
  return view;
}

/** `inner` read through `outer`: spans of `inner` (positions in outer.text) become spans of the original. */
function compose(outer: ReaderView, inner: ReaderView): ReaderView {
  const n = inner.text.length;
  const from = new Int32Array(n);
  const to = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    from[i] = outer.from[inner.from[i]!]!;
    to[i] = outer.to[inner.to[i]! - 1]!;
  }
  return { text: inner.text, from, to };
}

/** Where decoded characters go: a Builder, or a Probe that only asks whether building is worth it. */
interface Sink {
  plain(text: string, a: number, b: number, hides: boolean): void;
  decoded(cp: number, a: number, b: number): void;
}

class Probe implements Sink {
  matters = false;
  constructor(private readonly wanted: Wanted) {}
  plain(): void {}
  decoded(cp: number): void {
    if (!this.matters) this.matters = this.wanted(cp) || (cp >= 128 && INVISIBLE_CHAR.test(String.fromCodePoint(cp)));
  }
}

class Builder implements Sink {
  private readonly parts: string[] = [];
  readonly from: Int32Array;
  readonly to: Int32Array;
  length = 0;
  changed = false;

  constructor(max: number) {
    this.from = new Int32Array(max);
    this.to = new Int32Array(max);
  }

  /** Characters of the original kept as they are, one unit each. */
  plain(text: string, a: number, b: number, hides: boolean): void {
    if (!hides) {
      this.parts.push(text.slice(a, b));
      for (let i = a; i < b; i++) this.unit(i, i + 1);
      return;
    }
    for (let i = a; i < b; i++) {
      const c = text.charCodeAt(i);
      if (c < 128) {
        this.parts.push(text[i]!);
        this.unit(i, i + 1);
        continue;
      }
      // A tag character (U+E0000 block) is a surrogate pair: both units go.
      const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < b ? text.slice(i, i + 2) : text[i]!;
      if (INVISIBLE_CHAR.test(pair)) {
        i += pair.length - 1;
        this.changed = true;
      } else {
        this.parts.push(text[i]!);
        this.unit(i, i + 1);
      }
    }
  }

  /** A code point decoded from [a, b) of the original: its units all stand for the whole span. */
  decoded(cp: number, a: number, b: number): void {
    this.changed = true;
    const s = String.fromCodePoint(cp);
    if (cp >= 128 && INVISIBLE_CHAR.test(s)) return;
    this.parts.push(s);
    for (let k = 0; k < s.length; k++) this.unit(a, b);
  }

  private unit(a: number, b: number): void {
    this.from[this.length] = a;
    this.to[this.length] = b;
    this.length++;
  }

  view(): ReaderView {
    return {
      text: this.parts.join(''),
      from: this.from.subarray(0, this.length),
      to: this.to.subarray(0, this.length),
    };
  }
}

function decodeOnce(text: string, hides: boolean, wanted: Wanted): ReaderView | undefined {
  if (!hides) {
    // First only look (no copy, no map): most escapes in ordinary text are `%20`, `&amp;` in URLs, `\u00e9`.
    const probe = new Probe(wanted);
    ESCAPE.lastIndex = 0;
    for (let m = ESCAPE.exec(text); m && !probe.matters; m = ESCAPE.exec(text))
      decodeEscape(text, m.index, m.index, m[0], probe);
    if (!probe.matters) return undefined;
  }
  // Decoding never lengthens: every escape is at least as long as the units it stands for.
  const out = new Builder(text.length);
  let at = 0;
  ESCAPE.lastIndex = 0;
  for (let m = ESCAPE.exec(text); m; m = ESCAPE.exec(text)) {
    let start = m.index;
    if (m[0][0] === '\\') while (start > at && text.charCodeAt(start - 1) === 0x5c) start--;
    out.plain(text, at, start, hides);
    decodeEscape(text, start, m.index, m[0], out);
    at = m.index + m[0].length;
  }
  out.plain(text, at, text.length, hides);
  return out.changed ? out.view() : undefined;
}

/** Decodes `esc`, one match of ESCAPE found in `text` at `at` (spelled from `start`, its backslashes), into `out`. */
function decodeEscape(text: string, start: number, at: number, esc: string, out: Sink): void {
  const end = at + esc.length;
  if (esc[0] === '%') {
    if (esc[1] === 'u' || esc[1] === 'U') out.decoded(parseInt(esc.slice(2), 16), start, end);
    else decodePercentBytes(esc, at, out);
    return;
  }
  if (esc[0] === '&') {
    // `&amp;` only as written in lower case, as mayEscape looks for it.
    if (esc[1] !== '#') return esc === '&amp;' ? out.decoded(0x26, start, end) : out.plain(text, start, end, false);
    const hex = esc[2] === 'x' || esc[2] === 'X';
    const digits = esc.slice(hex ? 3 : 2).replace(';', '');
    const cp = parseInt(digits, hex ? 16 : 10);
    // A reference past the last code point is no character: its text stays as it is.
    if (cp <= 0x10ffff) out.decoded(cp, start, end);
    else out.plain(text, start, end, false);
    return;
  }
  const body = esc.slice(1);
  const hex = body[0] === 'x' || body[0] === 'X' ? body.slice(1) : body[1] === '{' ? body.slice(2, -1) : body.slice(1);
  const cp = parseInt(hex, 16);
  if (cp <= 0x10ffff) out.decoded(cp, start, end);
  else out.plain(text, start, end, false);
}

/** A run of `%XX`: UTF-8 sequences decoded whole (leniently: overlong forms too); a byte that starts none is itself. */
function decodePercentBytes(run: string, start: number, out: Sink): void {
  const bytes: number[] = [];
  for (let i = 0; i < run.length; i += 3) bytes.push(parseInt(run.slice(i + 1, i + 3), 16));
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i]!;
    const len = b < 0x80 ? 1 : b >= 0xc0 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf8 ? 4 : 0;
    let cp = len === 1 ? b : len === 2 ? b & 0x1f : len === 3 ? b & 0x0f : b & 0x07;
    let ok = len > 0 && i + len <= bytes.length;
    for (let k = 1; ok && k < len; k++) {
      const c = bytes[i + k]!;
      if ((c & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (c & 0x3f);
    }
    const n = ok ? len : 1;
    // A stray byte reads as its Latin-1 character: it is none of a secret's ASCII characters either way.
    out.decoded(ok && cp <= 0x10ffff ? cp : b, start + 3 * i, start + 3 * (i + n));
    i += n;
  }
}
