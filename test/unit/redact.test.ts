import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED, Scrubber, encodedForms, isSignedUrl, stripUrlSignature } from '../../src/shared/redact.js';
import { Logger, type LogRecord } from '../../src/shared/log.js';
import { scrubber } from '../../src/shared/redact.js';

describe('Scrubber', () => {
  const s = new Scrubber();
  s.addSecrets('sk-live-abcdef123456', 'short', undefined);

  it('replaces secret values, their encodings, and bearer credentials', () => {
    expect(s.text('key=sk-live-abcdef123456!')).toBe(`key=${REDACTED}!`);
    expect(s.text('Authorization: Bearer anything-here-and-more')).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(s.text('short stays')).toBe('short stays');
    const s2 = new Scrubber();
    s2.addSecrets('user:1-a/b c');
    expect(s2.text(`x=${encodeURIComponent('user:1-a/b c')}`)).toBe(`x=${REDACTED}`);
  });

  it('catches every derived form: case, base64 at any alignment, hex, long prefixes and halves', () => {
    const key = 'CANARYrunwareKEY-5f1c9e27a0b84d3c';
    const k = new Scrubber();
    k.addSecrets(key);
    const forms = [
      key.toUpperCase(),
      key.toLowerCase(),
      Buffer.from(key).toString('base64'),
      Buffer.from(`Bearer ${key}`).toString('base64'),
      Buffer.from(`x${key}`).toString('base64url'),
      Buffer.from(key).toString('hex'),
      Buffer.from(key).toString('hex').toUpperCase(),
      key.slice(0, 20),
      key.slice(14),
      encodeURIComponent(key),
    ];
    for (const f of forms) {
      expect(k.containsSecret(`before ${f} after`), f).toBe(true);
      expect(k.text(`before ${f} after`), f).not.toContain(f);
    }
    expect(k.text('before and after')).toBe('before and after');
  });

  it('catches a secret with reserved characters however a URL or a JSON encoder spells it', () => {
    // Passwords and tokens a user picks: quotes, backslashes, %, spaces, reserved URL characters.
    const secrets = [
      'abc"def\\ghi%jk+l/m=n',
      "a~b!c(d)e*f'g~h!i(j)k",
      'pass word with spaces',
      'p@ss:w0rd/x+y=z&q?r#s',
    ];
    for (const secret of secrets) {
      const k = new Scrubber();
      k.addSecrets(secret);
      const spellings = [
        encodeURI(secret),
        new URLSearchParams({ q: secret }).toString().slice(2),
        Object.assign(new URL('redis://h'), { password: secret }).password,
        JSON.stringify(secret).replace(/\//g, '\\/'),
        // A message that quotes JSON holding the secret's JSON.
        JSON.stringify(JSON.stringify(secret)).slice(1, -1),
      ];
      for (const f of spellings) {
        expect(k.containsSecret(`before ${f} after`), `${secret} as ${f}`).toBe(true);
        expect(k.text(`before ${f} after`), `${secret} as ${f}`).not.toContain(f);
        expect(k.text(`before ${f} after`), `${secret} as ${f}`).toMatch(/^before \S*\[REDACTED\]\S* after$/);
        expect(k.text(`before ${f} after`).length, `${secret} as ${f}`).toBeLessThanOrEqual(
          `before ${REDACTED} after`.length + 4,
        ); // the quotes around it, at most
      }
    }
  });

  it('finds a secret with invisible characters between its pieces, and removes them with it', () => {
    const key = 'CANARYrunwareKEY-5f1c9e27a0b84d3c';
    const k = new Scrubber();
    k.addSecrets(key);
    const tag = String.fromCodePoint(0xe0041);
    for (const hidden of [
      'CANARYrun\u200bwareKEY-\u200b5f1c9e27\u200ba0b84d3c',
      'CANARYr\u00adunwareK\u2066\u2069EY-5f1c9e2\ufeff7a0b84d3c',
      `CANARYrun${tag}wareKEY-${tag}5f1c9e27${tag}a0b84d3c`,
    ]) {
      expect(k.containsSecret(`x ${hidden} y`), JSON.stringify(hidden)).toBe(true);
      expect(k.text(`x ${hidden} y`), JSON.stringify(hidden)).toBe(`x ${REDACTED} y`);
      expect(k.json({ m: `x ${hidden} y` }).text).toBe(`{"m":"x ${REDACTED} y"}`);
    }
    // Invisible characters elsewhere change nothing.
    expect(k.text('a\u200bb CANARYrun')).toBe('a\u200bb CANARYrun');
  });

  it('leaves ordinary words alone: "a basic watercolor", model ids', () => {
    const k = new Scrubber();
    k.addSecrets('runware-key-0123456789abcdef');
    expect(k.text('a basic watercolor of a fox, Basic shapes')).toBe('a basic watercolor of a fox, Basic shapes');
    expect(k.text('runware:101@1')).toBe('runware:101@1');
  });

  it('scrubs JWTs and password= in upstream text, but keeps signed URLs working', () => {
    const k = new Scrubber();
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9.c2lnbmF0dXJl';
    expect(k.text(`session ${jwt} broke; password=hunter22 "secret": "s3cr3t-v4lue"`)).toBe(
      `session ${REDACTED} broke; password=${REDACTED} "secret": "${REDACTED}"`,
    );
    const url = `https://cdn.example.com/v.mp4?_jwt=${jwt}`;
    expect(k.text(`download ${url}`)).toBe(`download ${url}`);
  });

  it('redacts secret-named fields at any depth, keeping shape', () => {
    const v = s.value({
      a: { password: 'p4ss', jwt: { token: 't', exp: 1 }, apiKey: 'k', keep: 'sk-live-abcdef123456' },
      list: [{ token: 'x' }],
    });
    expect(v).toEqual({
      a: { password: REDACTED, jwt: { token: REDACTED, exp: 1 }, apiKey: REDACTED, keep: REDACTED },
      list: [{ token: REDACTED }],
    });
  });

  it('keeps signed output URLs in results but strips them from logs', () => {
    const url = 'https://cdn.example.com/v.mp4?_jwt=eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.abcdef&x=1';
    expect(s.text(url)).toBe(url);
    expect(s.forLog(`got ${url} ok`)).toBe('got https://cdn.example.com/v.mp4?x=1 ok');
    expect(s.forLog('token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9.sig')).toBe(`token ${REDACTED}`);
  });

  it('strips S3 signatures and credentials in URLs', () => {
    const u =
      'https://user:pw@b.s3.amazonaws.com/f.mp4?X-Amz-Signature=abc&X-Amz-Credential=c&X-Amz-Date=20250101T000000Z';
    expect(stripUrlSignature(u)).toBe('https://b.s3.amazonaws.com/f.mp4?X-Amz-Date=20250101T000000Z');
    expect(isSignedUrl(u)).toBe(true);
    expect(isSignedUrl('https://a/b.png')).toBe(false);
    expect(stripUrlSignature('not a url')).toBe('not a url');
  });

  it('the logger scrubs before any sink sees a record', () => {
    scrubber.addSecrets('log-secret-99887766');
    const log = new Logger('debug');
    const got: LogRecord[] = [];
    log.addSink((r) => got.push(r));
    log
      .child('x')
      .warn('failed with log-secret-99887766', { header: 'Bearer log-secret-99887766', url: 'https://a/b?_jwt=abc' });
    expect(JSON.stringify(got)).not.toContain('log-secret-99887766');
    expect(JSON.stringify(got)).not.toContain('_jwt');
    expect(got[0]!.scope).toBe('x');
  });
});

describe('Scrubber.json (the results fast path)', () => {
  const key = 'CANARYrunwareKEY-5f1c9e27a0b84d3c';
  const s = new Scrubber();
  s.addSecrets(key, 'user:1-quote"and\\slash');
  const plain = new Scrubber();
  plain.addSecrets(key);
  // No character of it is escaped in JSON, but some of its forms hold a backslash ("\/", as PHP's encoder writes '/').
  const slashy = 'ab/cd/ef/gh/ij/kl/mn/op';
  const slashes = new Scrubber();
  slashes.addSecrets(slashy);

  it('gives exactly what value() then JSON.stringify give, for any JSON value with secrets and rule words mixed in', async () => {
    const fc = (await import('fast-check')).default;
    const word = fc.constantFrom(
      key,
      key.slice(3, 17),
      Buffer.from(key).toString('base64'),
      'Bearer abcdefghijklmnopqrstuv',
      'eyJhbGciOi.eyJzdWIiOi.sig',
      'password=hunter2x9',
      'token',
      'apiKey',
      'a fox',
      'https://x.test/a.png?sig=abc',
      slashy,
      ...encodedForms(slashy),
      // Escaped one character at a time: found in the JSON text as in each string.
      [...key].map((c) => `%${c.charCodeAt(0).toString(16)}`).join(''),
      [...key.slice(0, 12)].map((c) => `&#${c.charCodeAt(0)};`).join(''),
      [...key.slice(5)].map((c) => `\\u00${c.charCodeAt(0).toString(16)}`).join(''),
      'a%20fox &amp; \\u00e9',
    );
    const str = fc.oneof(
      fc.string(),
      word,
      fc.tuple(fc.string(), word, fc.string()).map((p) => p.join('')),
    );
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        str,
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('v'), { maxLength: 4 }),
        fc.dictionary(fc.oneof(str, fc.constantFrom('token', 'jwt', 'password', 'air')), tie('v'), { maxKeys: 4 }),
      ),
    })).v;
    fc.assert(
      fc.property(value, (v) => {
        for (const sc of [s, plain, slashes]) {
          const want = JSON.stringify(sc.value(v));
          const got = sc.json(v);
          expect(got.text).toBe(want);
          expect(JSON.stringify(got.value)).toBe(want);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('returns the same object, uncopied, when there is nothing to scrub', () => {
    const v = { taskUUID: '1b2c', results: [{ air: 'runware:100@1', name: 'FLUX.1 [schnell]' }] };
    expect(plain.json(v).value).toBe(v);
    expect(plain.json({ note: `key ${key}` }).text).toBe(JSON.stringify({ note: `key ${REDACTED}` }));
  });
});

describe('Scrubber.value on values JSON cannot hold', () => {
  it('drops functions: an own toJSON in the copy would print the secret when it is serialised', () => {
    const s = new Scrubber();
    s.addSecrets('sk-live-abcdef123456');
    const input = { a: 'sk-live-abcdef123456', toJSON: () => ({ a: 'sk-live-abcdef123456' }) };
    expect(JSON.stringify(s.value(input))).toBe(`{"a":"${REDACTED}"}`);
    expect(s.json(input).text).not.toContain('sk-live-abcdef123456');
  });
});

describe('Scrubber.value on keys JSON allows', () => {
  it('keeps a "__proto__" key as an own property, as json() does', () => {
    const s = new Scrubber();
    s.addSecrets('sk-live-abcdef123456');
    const input = JSON.parse('{"__proto__":0,"a":{"__proto__":{"x":"sk-live-abcdef123456"}}}') as unknown;
    const out = s.value(input);
    expect(JSON.stringify(out)).toBe(`{"__proto__":0,"a":{"__proto__":{"x":"${REDACTED}"}}}`);
  });
});

describe('several secrets that share pieces', () => {
  it('no 10-character run of any of them survives text() or json(), in texts built from their slices, in either case', async () => {
    const fc = (await import('fast-check')).default;
    // Quotes, backslashes, %, +, /, =, spaces and a letter that is not ASCII: the characters encoders treat apart.
    const unit = fc.constantFrom(...'abAB01-_/+="%\\ é'.split(''));
    const secret = fc.string({ unit, minLength: 12, maxLength: 24 });
    const slice = fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.string({ unit, maxLength: 5 }));
    fc.assert(
      fc.property(
        fc.array(secret, { minLength: 1, maxLength: 3 }),
        fc.array(slice, { maxLength: 6 }),
        fc.boolean(),
        (secrets, slices, upper) => {
          const registered = secrets.map((x) => x.trim()).filter((x) => x.length >= 12);
          if (registered.length === 0) return;
          const s = new Scrubber();
          s.addSecrets(...registered);
          let text = '';
          for (const [i, a, b, glue] of slices) {
            const from = a % registered[i % registered.length]!.length;
            text += glue + registered[i % registered.length]!.slice(from, from + 10 + (b % 20));
          }
          text += registered[0];
          if (upper) text = text.toUpperCase();
          const outs = [s.text(text), (s.json({ t: text }).value as { t: string }).t].map((o) => o.toLowerCase());
          for (const sec of registered)
            for (let i = 0; i + 10 <= sec.length; i++)
              for (const out of outs)
                expect(out, JSON.stringify([registered, text])).not.toContain(sec.slice(i, i + 10).toLowerCase());
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('a secret spelled one escaped character at a time', () => {
  const key = 'bench-key-0123456789abcdef';
  const s = new Scrubber();
  s.addSecrets(key);
  const hex = (c: string): string => c.charCodeAt(0).toString(16).padStart(2, '0');
  const each = (f: (c: string, i: number) => string, text = key): string => [...text].map(f).join('');
  const fullWidth = (c: string): string => String.fromCharCode(c.charCodeAt(0) + 0xfee0);

  it.each([
    ['percent, every byte, upper-case hex', each((c) => `%${hex(c).toUpperCase()}`)],
    ['percent, every byte, lower-case hex', each((c) => `%${hex(c)}`)],
    ['percent, mixed-case hex', each((c, i) => `%${i % 2 ? hex(c).toUpperCase() : hex(c)}`.replace('e', 'E'))],
    ['percent, some bytes, among plain characters', each((c, i) => (i % 3 ? c : `%${hex(c)}`))],
    ['percent, upper-case letters of the key', each((c) => `%${hex(c.toUpperCase())}`)],
    ['percent, UTF-8 of full-width letters', each((c) => encodeURIComponent(fullWidth(c)))],
    ['percent, twice (%25)', each((c) => `%25${hex(c)}`)],
    ['%u, as escape() spells it', each((c) => `%u00${hex(c).toUpperCase()}`)],
    ['HTML decimal references', each((c) => `&#${c.charCodeAt(0)};`)],
    ['HTML decimal references with leading zeros', each((c) => `&#000${c.charCodeAt(0)};`)],
    ['HTML hex references', each((c) => `&#x${hex(c)};`)],
    ['HTML hex references, upper case and leading zeros', each((c) => `&#X00${hex(c).toUpperCase()};`)],
    ['HTML references among plain characters', each((c, i) => (i % 2 ? c : `&#${c.charCodeAt(0)};`))],
    ['HTML references without semicolons, where a browser still reads them', each((c) => `&#${c.charCodeAt(0)}`)],
    ['HTML references escaped once more (&amp;#)', each((c) => `&amp;#${c.charCodeAt(0)};`)],
    ['HTML references to full-width letters', each((c) => `&#x${(c.charCodeAt(0) + 0xfee0).toString(16)};`)],
    ['JSON \\u escapes', each((c) => `\\u00${hex(c)}`)],
    ['JSON \\u escapes, upper-case hex', each((c) => `\\u00${hex(c).toUpperCase()}`)],
    ['JSON \\u escapes as JSON text spells them (\\\\u)', each((c) => `\\\\u00${hex(c)}`)],
    ['JS \\x escapes', each((c) => `\\x${hex(c)}`)],
    ['JS \\u{} escapes', each((c) => `\\u{${hex(c)}}`)],
    [
      'every form mixed, with case, full-width letters and zero-width characters',
      each(
        (c, i) =>
          [
            `%${hex(c)}`,
            c.toUpperCase(),
            `&#${c.charCodeAt(0)};`,
            `\\u00${hex(c).toUpperCase()}\u200b`,
            fullWidth(c),
            `&#x${hex(c)};&#x200B;`,
            `\\x${hex(c)}`,
            `%E2%80%8B${c}`,
          ][i % 8]!,
      ),
    ],
  ])('%s: found, and replaced whole', (_how, spelled) => {
    const text = `key: ${spelled} (echoed)`;
    expect(s.containsSecret(text)).toBe(true);
    expect(s.text(text)).toBe(`key: ${REDACTED} (echoed)`);
    expect(s.json({ m: text }).text).toBe(JSON.stringify({ m: `key: ${REDACTED} (echoed)` }));
  });

  it('finds a run of 10 characters of it escaped, as it finds one plain; a shorter run is no secret', () => {
    const run = each((c) => `%${hex(c)}`, key.slice(3, 13));
    expect(s.text(`a ${run} b`)).toBe(`a ${REDACTED} b`);
    const short = each((c) => `&#${c.charCodeAt(0)};`, key.slice(3, 12));
    expect(s.text(`a ${short} b`)).toBe(`a ${short} b`);
    // Escapes that spell no secret stay as they are.
    for (const text of [
      'https://x.test/a%20fox.png?q=a%26b&amp;c=%E2%9C%93',
      'line\\nnext \\u00e9t\\u00e9 &#x1F600; &#9999999999; %zz &# \\u{110000}',
      // Each run of the key between two wrong characters is shorter than 10.
      `${key.slice(0, 9)}%3d${each((c) => `&#${c.charCodeAt(0)};`, key.slice(10, 19))}&#33;${key.slice(20)}`,
    ])
      expect(s.text(text)).toBe(text);
  });

  it('finds a secret that is not ASCII in percent-encoded UTF-8 (the scan per form)', () => {
    const k = new Scrubber();
    k.addSecrets('pässwörd-redis-1234');
    expect(k.text(`x ${encodeURIComponent('pässwörd-redis-1234')} y`)).toBe(`x ${REDACTED} y`);
    expect(k.text(`x ${each((c) => `&#${c.charCodeAt(0)};`, 'PÄSSWÖRD-REDIS-1234')} y`)).toBe(`x ${REDACTED} y`);
  });
});

describe('escaped spellings, at random', () => {
  const key = 'bench-key-0123456789abcdef';
  const s = new Scrubber();
  s.addSecrets(key);
  interface Choice {
    how: number;
    upper: boolean;
    zeros: number;
    semi: boolean;
    wide: boolean;
    zeroWidth: string;
  }
  const choice: fc.Arbitrary<Choice> = fc.record({
    how: fc.nat(),
    upper: fc.boolean(),
    zeros: fc.nat(3),
    semi: fc.boolean(),
    wide: fc.boolean(),
    zeroWidth: fc.constantFrom('', '', '', '\u200b', '&#8203;', '%E2%80%8B', '\\u200B'),
  });
  const hex = (n: number, o: Choice, width = 0): string => {
    const h = n.toString(16).padStart(width, '0');
    return o.upper ? h.toUpperCase() : h;
  };
  /** One character in one of the spellings a reader decodes; `semi` false drops an HTML reference's semicolon. */
  const spell = (ch: string, o: Choice, semi: boolean): string => {
    const cp = ch.codePointAt(0)!;
    const bytes = [...Buffer.from(ch)].map((b) => `%${hex(b, o, 2)}`).join('');
    const end = semi ? ';' : '';
    const forms = [
      ch,
      o.upper ? ch.toUpperCase() : ch.toLowerCase(),
      bytes,
      `&#${'0'.repeat(o.zeros)}${cp}${end}`,
      `&#${o.upper ? 'X' : 'x'}${'0'.repeat(o.zeros)}${hex(cp, o)}${end}`,
      `\\u${hex(cp, o, 4)}`,
      cp < 0x100 ? `\\x${hex(cp, o, 2)}` : bytes,
      `\\u{${'0'.repeat(o.zeros % 3)}${hex(cp, o)}}`,
      `%u${hex(cp, o, 4)}`,
      `&amp;#${cp};`,
      cp < 0x80 ? `%25${hex(cp, o, 2)}` : bytes,
    ];
    return forms[o.how % forms.length]!;
  };
  const fullWidth = (c: string): string => String.fromCharCode(c.charCodeAt(0) + 0xfee0);
  /** `text` spelled one character at a time; an HTML reference loses its semicolon only where a browser ends it anyway. */
  const build = (text: string, cs: Choice[]): string => {
    const chars = [...text];
    let out = '';
    for (let i = chars.length - 1; i >= 0; i--) {
      const o = cs[i % cs.length]!;
      const c = o.wide && chars[i]! < '\u0080' ? fullWidth(chars[i]!) : chars[i]!;
      const rest = i + 1 < chars.length ? o.zeroWidth + out : '';
      out = spell(c, o, o.semi || !/^[^0-9a-f]/i.test(rest)) + rest;
    }
    return out;
  };
  /** Text around the key that cannot extend it: no escape characters, none of its characters. */
  const around = fc.string({
    unit: fc.constantFrom(' ', '.', ',', ':', '"', 'x', 'w', 'z', '\n', '(', ')', 'é'),
    maxLength: 6,
  });

  it('a random mixture of plain and escaped characters of the key is replaced whole; a text without it stays as it is', () => {
    fc.assert(
      fc.property(around, fc.array(choice, { minLength: 1, maxLength: 8 }), around, (before, cs, after) => {
        const text = `${before}${build(key, cs)}${after}`;
        expect(s.containsSecret(text), text).toBe(true);
        expect(s.text(text), text).toBe(`${before}${REDACTED}${after}`);
        expect((s.json({ t: text }).value as { t: string }).t, text).toBe(`${before}${REDACTED}${after}`);
      }),
      { numRuns: 1500 },
    );
    // Characters that are none of the key's, in any case, plain or escaped; pieces of the key shorter than 10, each
    // between spaces (an escape just before one could spell its first character: `%5b` then `ench-...`).
    const others = [...'gijlmopqrstuvwxzGIJLMOPQRSTUVWXZ !"\'()*,./:;<=>?@[]^`{|}~#%&\\éß中\u200b'];
    const piece = fc.oneof(
      fc.tuple(fc.constantFrom(...others), choice).map(([c, o]) => build(c, [o])),
      fc
        .tuple(fc.nat(key.length - 1), fc.integer({ min: 1, max: 9 }), fc.array(choice, { minLength: 1, maxLength: 4 }))
        .map(([from, n, cs]) => ` ${build(key.slice(from, from + n), cs)} `),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const text = pieces.join('');
        expect(s.containsSecret(text), text).toBe(false);
        expect(s.text(text), text).toBe(text);
      }),
      { numRuns: 1500 },
    );
  });
});
