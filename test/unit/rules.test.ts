import { describe, expect, it } from 'vitest';
import { version as uuidVersion } from 'uuid';
import { PolicyError, ValidationError } from '../../src/shared/errors.js';
import { scrubber } from '../../src/shared/redact.js';
import { Rules, UuidRegistry } from '../../src/runware/rules.js';

const img = (extra: Record<string, unknown> = {}) => ({
  taskType: 'imageInference',
  positivePrompt: 'a cat',
  model: 'runware:101@1',
  ...extra,
});

function refused(fn: () => unknown): ValidationError | PolicyError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError || e instanceof PolicyError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('fresh UUIDs', () => {
  it('assigns a fresh v4 to every task, never the same twice', () => {
    const rules = new Rules();
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const [t] = rules.prepare(img());
      expect(uuidVersion(t!.taskUUID)).toBe(4);
      expect(seen.has(t!.taskUUID)).toBe(false);
      seen.add(t!.taskUUID);
    }
  });

  it('accepts a caller v4 once, then refuses it', () => {
    const rules = new Rules();
    const u = '3b241101-e2bb-4255-8caf-4136c566a962';
    expect(rules.prepare(img({ taskUUID: u }))[0]!.taskUUID).toBe(u);
    const e = refused(() => rules.prepare(img({ taskUUID: u })));
    expect(e).toBeInstanceOf(PolicyError);
    expect(e.field).toBe('tasks[0].taskUUID');
  });

  it('refuses a caller UUID that is not v4, and duplicates inside one batch', () => {
    const rules = new Rules();
    expect(refused(() => rules.prepare(img({ taskUUID: '3b241101-e2bb-1255-8caf-4136c566a962' }))).field).toBe(
      'tasks[0].taskUUID',
    );
    expect(refused(() => rules.prepare(img({ taskUUID: 'not-a-uuid' }))).field).toBe('tasks[0].taskUUID');
    const u = '9b2c4a1e-5d3f-4a6b-8c7d-0e1f2a3b4c5d';
    expect(refused(() => rules.prepare([img({ taskUUID: u }), img({ taskUUID: u })])).field).toBe('tasks[1].taskUUID');
  });

  it('a refused batch spends no UUID, a duplicate inside the batch included', () => {
    const rules = new Rules();
    const u = '9b2c4a1e-5d3f-4a6b-8c7d-0e1f2a3b4c5e';
    refused(() => rules.prepare([img({ taskUUID: u }), img({ width: 3 })]));
    refused(() => rules.prepare([img({ taskUUID: u }), img({ taskUUID: u })]));
    expect(rules.prepare(img({ taskUUID: u }))[0]!.taskUUID).toBe(u);
  });

  it('lets getResponse name an earlier UUID, repeatedly', () => {
    const rules = new Rules();
    const [t] = rules.prepare(img());
    expect(rules.getResponse(t!.taskUUID).taskUUID).toBe(t!.taskUUID);
    expect(rules.prepare({ taskType: 'getResponse', taskUUID: t!.taskUUID })[0]!.taskUUID).toBe(t!.taskUUID);
  });

  it('withFreshUuid gives a new UUID and keeps the task', () => {
    const rules = new Rules();
    const [t] = rules.prepare(img());
    const r = rules.withFreshUuid(t!);
    expect(r.taskUUID).not.toBe(t!.taskUUID);
    expect(r.positivePrompt).toBe('a cat');
  });

  it('registry size grows with every UUID', () => {
    const reg = new UuidRegistry();
    reg.fresh();
    reg.fresh();
    expect(reg.size).toBe(2);
  });
});

/** `text` with each character escaped by `spell` (given its hex and its code). */
const escapeEach = (text: string, spell: (hex: string, code: number) => string): string =>
  [...text].map((c) => spell(c.charCodeAt(0).toString(16), c.charCodeAt(0))).join('');

describe('payload policy', () => {
  it('refuses apiKey at any depth, naming the path', () => {
    const rules = new Rules();
    expect(refused(() => rules.prepare(img({ apiKey: 'x' }))).field).toBe('tasks[0].apiKey');
    expect(refused(() => rules.prepare(img({ providerSettings: { deep: [{ api_key: 'x' }] } }))).field).toBe(
      'tasks[0].providerSettings.deep[0].api_key',
    );
  });

  it('refuses authentication tasks', () => {
    const e = refused(() => new Rules().prepare([{ taskType: 'authentication', apiKey: 'k' }]));
    expect(e).toBeInstanceOf(PolicyError);
  });

  it('refuses the configured key value anywhere', () => {
    scrubber.addSecrets('secret-key-value-1234567');
    const e = refused(() => new Rules().prepare(img({ positivePrompt: 'please use secret-key-value-1234567' })));
    expect(e.message).toMatch(/configured secret/);
    expect(e.message).not.toContain('secret-key-value-1234567');
  });

  it('refuses the key split across fields', () => {
    scrubber.addSecrets('split-secret-value-abcdefghij');
    // Each piece shorter than any fragment the scrubber knows; together, the key.
    const e = refused(() =>
      new Rules().prepare(
        img({ providerSettings: { x: { a: 'split-sec', b: 'ret-valu', c: 'e-abcdef', d: 'ghij' } } }),
      ),
    );
    expect(e.message).toMatch(/configured secret/);
  });

  it.each([
    ['field names and their values', { 'split-sec': 'ret-valu', 'e-2xyzab': 'cdefgh' }],
    ['strings and a number', { a: 'sk_1234', b: 56789012, c: '34ab' }],
    [
      'base64 broken into lines',
      {
        d: Buffer.from('hello split-secret-value-2xyzabcdefgh')
          .toString('base64')
          .replace(/(.{8})/g, '$1\r\n'),
      },
    ],
    ['zero-width spaces', { p: 'split-sec\u200bret-valu\u200be-2xyzab\u200bcdefgh' }],
    ['full-width letters', { p: 'ｓｐｌｉｔ－ｓｅｃｒｅｔ－ｖａｌｕｅ－２ｘｙｚａｂｃｄｅｆｇｈ' }],
    ['percent escapes of every byte', { p: escapeEach('split-secret-value-2xyzabcdefgh', (h) => `%${h}`) }],
    ['HTML references', { p: escapeEach('split-secret-value-2xyzabcdefgh', (_h, c) => `&#${c};`) }],
    ['JSON escapes', { p: escapeEach('split-secret-value-2xyzabcdefgh', (h) => `\\u00${h.toUpperCase()}`) }],
    [
      'fields, each escaped its own way',
      // Each under 10 characters once decoded.
      {
        a: escapeEach('split-sec', (h) => `%${h}`),
        b: escapeEach('ret-valu', (_h, c) => `&#x${c.toString(16)};`),
        c: `e-2x${escapeEach('yzab', (h) => `\\x${h}`)}`,
        d: 'cdefgh',
      },
    ],
  ])('refuses the key split across %s', (_how, settings) => {
    scrubber.addSecrets('split-secret-value-2xyzabcdefgh', 'sk_12345678901234ab');
    const e = refused(() => new Rules().prepare(img({ providerSettings: { x: settings } })));
    expect(e.message).toMatch(/configured secret/);
  });

  it.each([
    'x-api-key',
    'apiKeys',
    'runwareApiKey',
    'api.key',
    'API_KEY',
    'аpiKey',
    'ａｐｉＫｅｙ',
    'api\u200bkey',
    'Authorization',
    'token',
    'secret',
    'password',
    'access_token',
  ])('refuses credential-like field %s', (name) => {
    const field = name.replace('\\u200b', '\u200b');
    const e = refused(() => new Rules().prepare(img({ providerSettings: { [field]: 'x' } })));
    expect(e.field).toBe(`tasks[0].providerSettings.${field}`);
    expect(e.message).toMatch(/credentials never travel/);
  });

  it('keeps documented fields that merely contain such words', () => {
    expect(() =>
      new Rules().prepare({
        taskType: 'textInference',
        model: 'runware:1@1',
        maxTokens: 100,
        messages: [{ role: 'user', content: 'a password manager logo' }],
      }),
    ).not.toThrow();
  });

  it('names the depth limit for deep nesting, not serialisation', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 5000; i++) deep = { a: deep };
    const e = refused(() => new Rules().prepare(img({ providerSettings: deep })));
    expect(e.message).toMatch(/deeper than the limit of 32 levels/);
    expect(e.field).toBe(`tasks[0].providerSettings${'.a'.repeat(31)}`);
  });

  it('refuses prototype-polluting keys', () => {
    const rules = new Rules();
    expect(
      refused(() =>
        rules.prepare(
          JSON.parse(
            '[{"taskType":"imageInference","positivePrompt":"a","model":"runware:101@1","lora":[{"model":"a","__proto__":{"x":1}}]}]',
          ),
        ),
      ).field,
    ).toBe('tasks[0].lora[0].__proto__');
    expect(refused(() => rules.prepare(img({ providerSettings: { constructor: 1 } }))).field).toBe(
      'tasks[0].providerSettings.constructor',
    );
  });

  it('refuses oversize and over-deep payloads', () => {
    const rules = new Rules({ maxPayloadBytes: 1000 });
    expect(refused(() => rules.prepare(img({ positivePrompt: 'x'.repeat(2000) }))).message).toMatch(
      /over the 1000-byte limit/,
    );
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 40; i++) deep = (deep.a = {}) as Record<string, unknown>;
    expect(refused(() => new Rules().prepare(img({ providerSettings: root }))).message).toMatch(
      /nests deeper than the limit of 32 levels/,
    );
  });

  it('lets through fields it does not list (the live schema judges those) and names mistyped known ones', () => {
    const rules = new Rules();
    // Documented per model, absent from the hand-written list: not the rules' call.
    expect(() =>
      rules.prepare(
        img({
          watermark: true,
          trueCFGScale: 4,
          lycoris: [{ model: 'civitai:1@1' }],
          acePlusPlus: { type: 'portrait' },
        }),
      ),
    ).not.toThrow();
    expect(refused(() => rules.prepare(img({ width: '512', height: 512 }))).field).toBe('tasks[0].width');
    const fmt = refused(() => rules.prepare(img({ outputFormat: 'GIF' })));
    expect(fmt.field).toBe('tasks[0].outputFormat');
    expect((fmt as ValidationError).allowed).toMatch(/JPG/);
    expect(refused(() => rules.prepare(img({ width: 500, height: 512 }))).message).toMatch(/multiple of 8/);
    expect(refused(() => rules.prepare(img({ width: 512 }))).message).toMatch(/together/);
    expect(refused(() => rules.prepare({ taskType: 'imageInferense' })).field).toBe('tasks[0].taskType');
    expect(refused(() => rules.prepare(img({ model: 'flux' }))).field).toBe('tasks[0].model');
    expect(refused(() => rules.prepare([])).field).toBe('tasks');
    expect(refused(() => rules.prepare(['x'])).field).toBe('tasks[0]');
  });

  it('normalizes lowercase output formats and accepts unusual AIR ids', () => {
    const [t] = new Rules().prepare(img({ outputFormat: 'png', model: 'runware:realesrgan@anime-6b' }));
    expect(t!.outputFormat).toBe('PNG');
  });

  it('passes task types it does not check field by field, under the generic rules', () => {
    const [t] = new Rules().prepare({ taskType: 'promptEnhance', prompt: 'a cat', promptVersions: 2 });
    expect(t!.prompt).toBe('a cat');
  });
});
