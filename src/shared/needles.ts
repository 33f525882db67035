/**
 * Finds every occurrence of many needles in one pass over a text: the
 * scrubber's forms of every secret, each at least WINDOW characters long,
 * searched in every result, record and log line. One indexOf per needle cost a
 * pass over the text per needle (76 passes for four keys). Here the text is
 * sampled (a q-gram filter): any needle's first WINDOW characters contain one
 * of every STRIDE consecutive positions, so the Q characters at every STRIDE-th
 * position of the text, looked up among the needles' own Q-grams, name the
 * few places worth comparing.
 *
 * Folded needles match whatever the text's case (each character folded as
 * String#toLowerCase folds it alone); exact needles match as they are.
 */
export const WINDOW = 10;

const Q = 4;
/** Every window of WINDOW characters holds the Q characters at one position in STRIDE. */
const STRIDE = WINDOW - Q + 1;
const BITS = 14;
/** A character whose lowercase is not one ASCII character: it matches no needle (needles are ASCII). */
const NO_MATCH = 0xffff;

const slot = (g: number): number => Math.imul(g, 0x9e3779b1) >>> (32 - BITS);

/** ASCII folded (A-Z to a-z), by code. */
const ASCII_FOLD = Uint16Array.from({ length: 128 }, (_, c) => (c >= 65 && c <= 90 ? c + 32 : c));
/** The lowercase of a non-ASCII UTF-16 unit where it is one ASCII character (the Kelvin sign is k); else NO_MATCH. */
const wideFold = new Map<number, number>();
function foldWide(c: number): number {
  let f = wideFold.get(c);
  if (f === undefined) {
    const l = String.fromCharCode(c).toLowerCase();
    f = l.length === 1 && l.charCodeAt(0) < 128 ? l.charCodeAt(0) : NO_MATCH;
    wideFold.set(c, f);
  }
  return f;
}
const fold = (c: number): number => (c < 128 ? ASCII_FOLD[c]! : foldWide(c));

/**
 * Each UTF-16 unit lowercased alone, where that gives one unit (else kept): the same length as
 * `s`, so a position found in it is the position in `s`. (toLowerCase on the whole text turns
 * U+0130 into two units, and every range found after it would miss the text by one.)
 */
export function foldEach(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const c = s.charCodeAt(i);
    if (c < 128) out += String.fromCharCode(ASCII_FOLD[c]!);
    else {
      const l = ch.toLowerCase();
      out += l.length === 1 ? l : ch;
    }
  }
  return out;
}

/** Q folded codes at `at`, 7 bits each; -1 when one has no ASCII lowercase (then no needle is there). */
function gram(s: string, at: number): number {
  let g = 0;
  for (let j = 0; j < Q; j++) {
    const f = fold(s.charCodeAt(at + j));
    if (f === NO_MATCH) return -1;
    g |= f << (7 * j);
  }
  return g;
}

/** Whether the needles can be searched here: ASCII only, and each at least WINDOW long. */
export function indexable(needles: readonly string[]): boolean {
  return needles.every((n) => n.length >= WINDOW && [...n].every((c) => c.charCodeAt(0) < 128));
}

interface Entry {
  text: string;
  folded: boolean;
  /** Where in the needle this entry's Q-gram sits. */
  offset: number;
}

export class NeedleIndex {
  /** A flag per slot: some needle has a Q-gram there within its first WINDOW characters. */
  private readonly flags = new Uint8Array(1 << BITS);
  private readonly bySlot = new Map<number, Entry[]>();

  /** Folded needles are given in lowercase. Both lists must pass `indexable`. */
  constructor(folded: readonly string[], exact: readonly string[]) {
    const add = (text: string, isFolded: boolean): void => {
      for (let offset = 0; offset < STRIDE; offset++) {
        const k = slot(gram(text, offset));
        this.flags[k] = 1;
        const entry = { text, folded: isFolded, offset };
        const list = this.bySlot.get(k);
        if (list) list.push(entry);
        else this.bySlot.set(k, [entry]);
      }
    };
    for (const t of new Set(folded)) add(t, true);
    for (const t of new Set(exact)) add(t, false);
  }

  /**
   * Every [start, end) where a needle occurs, overlaps included, each once, in no order; with
   * `first`, at most one. Undefined when the text holds so many near-copies of the needles that
   * comparing them would cost more than a scan per needle (a secret of one repeated character,
   * say): the caller scans instead.
   */
  find(text: string, first = false): Array<[number, number]> | undefined {
    const found: Array<[number, number]> = [];
    const n = text.length;
    if (n < WINDOW) return found;
    const flags = this.flags;
    // Characters compared at candidates, at most: a few passes over the text.
    let budget = 4 * n + 4096;
    for (let p = 0; p + Q <= n; p += STRIDE) {
      const g = gram(text, p);
      if (g < 0) continue;
      const k = slot(g);
      if (flags[k] === 0) continue;
      for (const e of this.bySlot.get(k)!) {
        // Each occurrence is found from exactly one sampled position: the one STRIDE-aligned within its first window.
        const start = p - e.offset;
        if (start < 0) continue;
        budget -= e.text.length;
        if (budget < 0) return undefined;
        if (e.folded ? foldedAt(text, start, e.text) : text.startsWith(e.text, start)) {
          found.push([start, start + e.text.length]);
          if (first) return found;
        }
      }
    }
    return found;
  }
}

function foldedAt(text: string, start: number, needle: string): boolean {
  if (start + needle.length > text.length) return false;
  for (let j = 0; j < needle.length; j++) if (fold(text.charCodeAt(start + j)) !== needle.charCodeAt(j)) return false;
  return true;
}
