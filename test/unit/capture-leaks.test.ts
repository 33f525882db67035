// The tests' own leak finder (Capture.leaks) is the verdict of every "no secret in any output" check:
// it must see a canary in each spelling the product claims to keep out, independently of the scrubber.
import { describe, expect, it } from 'vitest';
import { CANARY, Capture, decodeEscapes } from '../helpers.js';

const key = CANARY.apiKey;
const each = (f: (c: string) => string): string => [...key].map(f).join('');
const hex = (c: string): string => c.charCodeAt(0).toString(16).padStart(2, '0');

describe('the leak finder sees a canary escaped one character at a time', () => {
  it.each([
    ['percent bytes', each((c) => `%${hex(c).toUpperCase()}`)],
    ['HTML decimal references', each((c) => `&#${c.charCodeAt(0)};`)],
    ['HTML hex references', each((c) => `&#x${hex(c)};`)],
    ['JSON escapes inside JSON text', JSON.stringify({ v: each((c) => `\\u00${hex(c)}`) })],
    ['JS hex escapes', each((c) => `\\x${hex(c)}`)],
    ['a mixture with plain characters', [...key].map((c, i) => (i % 3 ? c : `%${hex(c)}`)).join('')],
  ])('%s', (_, spelled) => {
    expect(decodeEscapes(spelled)).toContain(key);
    const cap = new Capture();
    cap.add(`error: ${spelled} was refused`);
    expect(cap.leaks()).toHaveLength(1);
  });

  it('leaves ordinary text alone', () => {
    expect(decodeEscapes('a 100% sure thing & more, \\n and %zz')).toBe('a 100% sure thing & more, \\n and %zz');
    const cap = new Capture();
    cap.add('nothing secret here: %20 &#32; \\u0020');
    expect(cap.leaks()).toEqual([]);
  });
});
