import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { indexable, NeedleIndex, WINDOW } from '../../src/shared/needles.js';
import { readerView } from '../../src/shared/reader-view.js';
import { Scrubber } from '../../src/shared/redact.js';

/** What the index must find: every occurrence of every needle, one indexOf at a time, each character folded alone (NFKC, then lowercase). */
function naive(text: string, folded: string[], exact: string[]): string[] {
  const fold = (s: string): string =>
    [...s]
      .map((ch) =>
        ch.length > 1
          ? '\uffff'.repeat(ch.length)
          : ch.normalize('NFKC').toLowerCase().length === 1 && ch.normalize('NFKC').toLowerCase().charCodeAt(0) < 128
            ? ch.normalize('NFKC').toLowerCase()
            : ch.toLowerCase().length === 1 && ch.toLowerCase().charCodeAt(0) < 128
              ? ch.toLowerCase()
              : ch.charCodeAt(0) < 128
                ? ch
                : '\uffff',
      )
      .join('');
  const lower = fold(text);
  const out = new Set<string>();
  const scan = (hay: string, needle: string): void => {
    for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + 1)) out.add(`${i}:${i + needle.length}`);
  };
  for (const n of folded) scan(lower, n);
  for (const n of exact) scan(text, n);
  return [...out].sort();
}
const found = (idx: NeedleIndex, text: string): string[] =>
  [...new Set(idx.find(text)!.map(([a, b]) => `${a}:${b}`))].sort();

const ascii = fc.string({
  unit: fc.constantFrom(...'abcdefgABCDEFG0123-_+/=:'.split('')),
  minLength: WINDOW,
  maxLength: 30,
});

describe('NeedleIndex', () => {
  it('finds exactly what one indexOf per needle finds: overlaps, any case, at the edges, each once', () => {
    fc.assert(
      fc.property(
        fc.array(ascii, { minLength: 1, maxLength: 6 }),
        fc.array(ascii, { maxLength: 3 }),
        fc.array(
          fc.oneof(
            fc.string({ maxLength: 12 }),
            fc.nat(20).map((i) => `#${i}`),
            fc.nat(20).map((i) => `^${i}`),
            fc.nat(20).map((i) => `~${i}`),
          ),
          { maxLength: 12 },
        ),
        (foldedRaw, exact, parts) => {
          const folded = foldedRaw.map((n) => n.toLowerCase());
          const all = [...folded, ...exact];
          // Parts name needles to drop in: as they are, upper-cased, or cut short by one character.
          const text = parts
            .map((p) => {
              const m = /^([#^~])(\d+)$/.exec(p);
              if (!m) return p;
              const n = all[Number(m[2]) % all.length]!;
              return m[1] === '#' ? n : m[1] === '^' ? n.toUpperCase() : n.slice(1);
            })
            .join('');
          expect(found(new NeedleIndex(folded, exact), text)).toEqual(naive(text, folded, exact));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('folds a character as toLowerCase does alone: the Kelvin sign is k, a character with no ASCII lowercase matches nothing', () => {
    const idx = new NeedleIndex(['key-0123456789'], []);
    expect(idx.find('\u212aEY-0123456789')).toEqual([[0, 14]]);
    expect(idx.find('\u0130key-0123456789')).toEqual([[1, 15]]);
    expect(idx.find('k\u00e9y-0123456789')).toEqual([]);
    expect(idx.find('xx KEY-0123456789 KEY-0123456789', true)).toEqual([[3, 17]]);
  });

  it('folds compatibility forms alone: full-width and circled letters are the letters, at their own positions', () => {
    const idx = new NeedleIndex(['key-0123456789'], []);
    const fullWidth = (t: string): string => t.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
    expect(idx.find(`ab ${fullWidth('KEY-0123456789')}`)).toEqual([[3, 17]]);
    expect(idx.find('\u24da\u24d4\u24e8-0123456789')).toEqual([[0, 14]]);
    const s = new Scrubber();
    s.addSecrets('CANARYrunwareKEY-5f1c9e27a0b84d3c', 'pässwörd-redis-1234');
    // The index (an ASCII secret alone) and the scan per form (a secret that is not ASCII) alike.
    for (const sc of [s, new Scrubber()]) {
      if (sc !== s) sc.addSecrets('CANARYrunwareKEY-5f1c9e27a0b84d3c');
      expect(sc.text(`key: ${fullWidth('CANARYrunwareKEY-5f1c9e27a0b84d3c')}!`)).toBe('key: [REDACTED]!');
    }
    expect(s.text(`x ${fullWidth('PÄSSWÖRD-REDIS-1234')} y`)).toBe('x [REDACTED] y');
  });

  it('refuses needles it cannot hold: short, or not ASCII (the scrubber then scans each)', () => {
    expect(indexable(['0123456789'])).toBe(true);
    expect(indexable(['012345678'])).toBe(false);
    expect(indexable(['ключ-0123456789'])).toBe(false);
    const s = new Scrubber();
    s.addSecrets('ключ-секрет-0123456789');
    expect(s.text('x ключ-секрет-0123456789 y')).toBe('x [REDACTED] y');
    expect(s.containsSecret('КЛЮЧ-СЕКРЕТ-0123456789')).toBe(true);
  });

  it('gives up on a text of near-copies, where comparing them would cost more than a scan per needle', () => {
    const idx = new NeedleIndex(['a'.repeat(40)], []);
    expect(idx.find('a'.repeat(100_000))).toBeUndefined();
    expect(idx.find(`${'b'.repeat(1000)}${'a'.repeat(40)}`)).toEqual([[1000, 1040]]);
    // The scrubber then scans: the whole run is one secret.
    const s = new Scrubber();
    s.addSecrets('a'.repeat(40));
    expect(s.text(`x ${'A'.repeat(50_000)} y`)).toBe('x [REDACTED] y');
    expect(s.containsSecret('a'.repeat(50_000))).toBe(true);
  });
});

describe('the scan per form (secrets that are not ASCII)', () => {
  it('finds a secret after a character whose lowercase is two (U+0130): the range is where the secret is', () => {
    const key = 'CANARYrunwareKEY-5f1c9e27a0b84d3c';
    const s = new Scrubber();
    // A secret that is not ASCII sends every text through the scan per form.
    s.addSecrets(key, 'pässwörd-redis-1234');
    for (const text of [
      `${'\u0130'.repeat(12)}${key}`,
      `\u0130\u0130\u0130${key}\u0130`,
      `${'\u0130'.repeat(3)}PÄSSWÖRD-REDIS-1234`,
    ]) {
      const out = s.text(text);
      expect(out).toContain('[REDACTED]');
      for (const secret of [key, 'pässwörd-redis-1234'])
        for (let i = 0; i + 10 <= secret.length; i++)
          expect(out.toLowerCase(), `${JSON.stringify(text)} -> ${out}`).not.toContain(
            secret.slice(i, i + 10).toLowerCase(),
          );
    }
  });
});

describe("the reader's view (escapes decoded, invisible characters dropped)", () => {
  /** Each unit of the view with the original text that spells it. */
  const spans = (text: string): Array<[string, string]> => {
    const v = readerView(text)!;
    return [...v.text].map((c, i) => [c, text.slice(v.from[i], v.to[i])]);
  };

  it('maps each decoded character to its whole escape, and plain ones to themselves', () => {
    expect(spans('a%62&#99;&#x064;\\u0065\\\\x66\\u{67}%u0068')).toEqual([
      ['a', 'a'],
      ['b', '%62'],
      ['c', '&#99;'],
      ['d', '&#x064;'],
      ['e', '\\u0065'],
      // A run of backslashes is one escape: JSON text spells a string's `\x66` as `\\x66`.
      ['f', '\\\\x66'],
      ['g', '\\u{67}'],
      ['h', '%u0068'],
    ]);
    // UTF-8 in percent bytes is one character; a zero-width space, escaped or not, is gone.
    expect(spans('%EF%BD%82\u200b\\u200Bc%E2%80%8Bd')).toEqual([
      ['ｂ', '%EF%BD%82'],
      ['c', 'c'],
      ['d', 'd'],
    ]);
    // Escaped twice: the character stands for both levels.
    expect(spans('%2562&amp;#99;')).toEqual([
      ['b', '%2562'],
      ['c', '&amp;#99;'],
    ]);
  });

  it('is not made when a search of it would find nothing new', () => {
    expect(readerView('plain ASCII, no escape')).toBeUndefined();
    expect(readerView('a&b c%zz d\\n &#; \\u12')).toBeUndefined();
    // `%20` decodes to a space: with no secret holding one, there is nothing to look for in the view.
    const noSpace = (cp: number): boolean => cp !== 0x20;
    expect(readerView('a%20fox%20in%20snow', noSpace)).toBeUndefined();
    expect(readerView('a%20fox%62', noSpace)!.text).toBe('a foxb');
  });
});
