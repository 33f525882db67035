import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryMethodsOf, taskTypeOf, type ModelSchema } from '../../src/runware/schemas/catalog.js';
import { coerceToSchema, paramsObject, setParam } from '../../src/runware/schemas/coerce.js';
import { allowedOf, paramsOf, rulesOf } from '../../src/runware/schemas/describe.js';
import { HttpCache, maxAgeOf } from '../../src/runware/schemas/http-cache.js';
import { overBounds, stripIds, unusableSchema, validateAgainst } from '../../src/runware/schemas/validate.js';
import { ValidationError } from '../../src/shared/errors.js';
import { Logger } from '../../src/shared/log.js';
import { schemaFor } from '../../src/simulator/schemas.js';

const model = (air: string): ModelSchema => {
  const e = schemaFor(air)!;
  return {
    air,
    requestSchema: e.requestSchema,
    documentation: `https://runware.ai/docs/models/${e.slug}`,
    source: 'network',
  };
};
const UUID = '00000000-0000-4000-8000-000000000000';
const flux = (extra: Record<string, unknown>) => ({
  taskType: 'imageInference',
  taskUUID: UUID,
  model: 'runware:101@1',
  deliveryMethod: 'async',
  positivePrompt: 'a cat',
  ...extra,
});
const field = (p: string): string => `params.${p}`;

async function refusal(p: Promise<unknown>): Promise<ValidationError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  throw new Error('expected a ValidationError');
}

describe('live-schema validation (Ajv 2019-09)', () => {
  it('accepts documented fields the hand-written rules never listed', async () => {
    await expect(
      validateAgainst(
        flux({
          watermark: true,
          trueCFGScale: 4,
          lycoris: [{ model: 'civitai:1@1', weight: 0.5 }],
          acePlusPlus: { type: 'portrait' },
        }),
        model('runware:101@1'),
        field,
      ),
    ).resolves.toBeUndefined();
  });

  it('names a forbidden value, says what is allowed, and links the docs', async () => {
    const e = await refusal(validateAgainst(flux({ outputFormat: 'GIF' }), model('runware:101@1'), field));
    expect(e.field).toBe('params.outputFormat');
    expect(e.allowed).toBe('JPG | PNG | WEBP');
    expect(e.documentation).toBe('https://runware.ai/docs/models/flux-1-dev#request-outputFormat');
    expect(e.hint).toContain('nothing was sent');
  });

  it('names an unknown parameter and lists the real ones', async () => {
    const e = await refusal(validateAgainst(flux({ widht: 512 }), model('runware:101@1'), field));
    expect(e.field).toBe('params.widht');
    expect(e.message).toContain('is not a parameter of this model');
    expect(e.allowed).toContain('width');
  });

  it('names ranges and multiples', async () => {
    const e = await refusal(validateAgainst(flux({ width: 1000, height: 1024 }), model('runware:101@1'), field));
    expect(e.field).toBe('params.width');
    expect(e.allowed).toMatch(/128 to 2048; multiple of 16/);
  });

  it('explains fixed size combinations by their titles', async () => {
    const e = await refusal(
      validateAgainst(
        {
          taskType: 'imageInference',
          taskUUID: UUID,
          model: 'google:imagen@4',
          deliveryMethod: 'async',
          positivePrompt: 'a cat',
          width: 1024,
          height: 768,
        },
        model('google:imagen@4'),
        field,
      ),
    );
    expect(e.field).toBe('params.width');
    expect(e.message).toContain('fixed combinations');
    expect(e.allowed).toContain('16:9 1408×768');
    await expect(
      validateAgainst(
        {
          taskType: 'imageInference',
          taskUUID: UUID,
          model: 'google:imagen@4',
          deliveryMethod: 'async',
          positivePrompt: 'a cat',
          width: 1408,
          height: 768,
        },
        model('google:imagen@4'),
        field,
      ),
    ).resolves.toBeUndefined();
  });

  it('checks dependentRequired, required fields, nested paths and delivery', async () => {
    expect((await refusal(validateAgainst(flux({ maskImage: 'x' }), model('runware:101@1'), field))).field).toBe(
      'params.seedImage',
    );
    const noPrompt = flux({});
    delete (noPrompt as Record<string, unknown>).positivePrompt;
    expect((await refusal(validateAgainst(noPrompt, model('runware:101@1'), field))).field).toBe(
      'params.positivePrompt',
    );
    const kling = { taskType: 'videoInference', taskUUID: UUID, model: 'klingai:5@3', positivePrompt: 'waves' };
    expect(
      (await refusal(validateAgainst({ ...kling, deliveryMethod: 'sync' }, model('klingai:5@3'), field))).field,
    ).toBe('params.deliveryMethod');
    const nested = await refusal(
      validateAgainst(
        { ...kling, deliveryMethod: 'async', inputs: { frameImages: [{ image: 'u', frame: 'middle' }] } },
        model('klingai:5@3'),
        field,
      ),
    );
    expect(nested.field).toBe('params.inputs.frameImages[0].frame');
    expect(nested.allowed).toBe('first | last');
  });

  it('strips vestigial $ids (duplicates break a compile) but keeps properties named like keywords', () => {
    const s = stripIds({ $id: 'a', properties: { $id: { type: 'string', $id: 'b' }, x: { $id: 'a' } } }) as Record<
      string,
      Record<string, Record<string, unknown>>
    >;
    expect(s.$id).toBeUndefined();
    expect(s.properties!.$id).toEqual({ type: 'string' });
    expect(s.properties!.x).toEqual({});
  });
});

describe('schema facts and compact descriptions', () => {
  it('reads taskType and delivery methods from const, enum or oneOf', () => {
    expect(taskTypeOf(schemaFor('klingai:5@3')!.requestSchema)).toBe('videoInference');
    expect(taskTypeOf({ properties: { taskType: { enum: ['caption'] } } })).toBe('caption');
    expect(deliveryMethodsOf(schemaFor('klingai:5@3')!.requestSchema)).toEqual(['async']);
    expect(deliveryMethodsOf({ properties: { deliveryMethod: { enum: ['sync', 'async'] } } })).toEqual([
      'sync',
      'async',
    ]);
    expect(deliveryMethodsOf({ properties: {} })).toBeUndefined();
  });

  it('lists parameters without server fields, required first, nested fields under their object', () => {
    const p = paramsOf(schemaFor('klingai:5@3')!.requestSchema);
    const names = p.map((x) => x.name);
    expect(names[0]).toBe('positivePrompt');
    for (const hidden of ['taskType', 'taskUUID', 'deliveryMethod', 'model', 'webhookURL', 'includeCost'])
      expect(names).not.toContain(hidden);
    expect(names).toContain('inputs.frameImages');
    expect(p.find((x) => x.name === 'duration')).toMatchObject({ type: 'integer', allowed: '5 | 10', default: 5 });
    expect(JSON.stringify(p)).not.toContain('$id');
    expect(rulesOf(schemaFor('google:imagen@4')!.requestSchema)[0]).toContain('16:9: width=1408, height=768');
    expect(rulesOf(schemaFor('runware:101@1')!.requestSchema)).toContain('maskImage needs seedImage');
    expect(allowedOf({ type: 'integer', minimum: 1, maximum: 4 })).toBe('1 to 4');
  });
});

describe('coercion of what clients send', () => {
  const s = schemaFor('klingai:5@3')!.requestSchema;
  it('follows the schema: stringified numbers, booleans and nested objects become values; strings stay strings', () => {
    const v = coerceToSchema(
      { duration: '5', positivePrompt: '123', inputs: '{"frameImages":[{"image":"a.png"}]}' },
      s,
    ) as Record<string, unknown>;
    expect(v.duration).toBe(5);
    expect(v.positivePrompt).toBe('123');
    expect(v.inputs).toEqual({ frameImages: [{ image: 'a.png' }] });
  });

  it('takes params as an object or a JSON string, and names anything else', () => {
    expect(paramsObject('{"a":1}')).toEqual({ a: 1 });
    expect(() => paramsObject('not json')).toThrow(/params: is a string that is not valid JSON/);
    expect(() => paramsObject('[1]')).toThrow(/params: must be an object, not an array/);
    expect(() => paramsObject(5)).toThrow(/params: must be an object, not number/);
  });

  it('sets --param paths, typed by the schema, and refuses prototype keys', () => {
    const p: Record<string, unknown> = {};
    setParam(p, 'positivePrompt=42', s);
    setParam(p, 'duration=10', s);
    setParam(p, 'inputs.frameImages.0.image=./a.png', s);
    setParam(p, 'inputs.frameImages.0.frame=first', s);
    expect(p).toEqual({
      positivePrompt: '42',
      duration: 10,
      inputs: { frameImages: [{ image: './a.png', frame: 'first' }] },
    });
    const free: Record<string, unknown> = {};
    setParam(free, 'n=3', undefined);
    setParam(free, 'flag=true', undefined);
    setParam(free, 'name=cat', undefined);
    expect(free).toEqual({ n: 3, flag: true, name: 'cat' });
    expect(() => setParam({}, '__proto__.x=1', s)).toThrow(/not a usable parameter path/);
    expect(() => setParam({}, 'novalue', s)).toThrow(/not key=value/);
  });
});

describe('the catalogue cache', () => {
  let server: Server;
  let base = '';
  let hits = 0;
  let down = false;
  let cacheControl = 'public, max-age=300';
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      if (down) return res.writeHead(503).end();
      if (req.url === '/missing') return res.writeHead(404).end();
      const etag = '"v1"';
      if (req.headers['if-none-match'] === etag)
        return res.writeHead(304, { etag, 'cache-control': cacheControl }).end();
      res
        .writeHead(200, { 'content-type': 'application/json', etag, 'cache-control': cacheControl })
        .end(JSON.stringify({ ok: req.url }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  const logger = new Logger('error');

  it('reads max-age, no-cache and no-store', () => {
    expect(maxAgeOf('public, max-age=60')).toEqual({ maxAgeS: 60, noStore: false });
    expect(maxAgeOf('no-cache')).toEqual({ maxAgeS: 0, noStore: false });
    expect(maxAgeOf('no-store')).toEqual({ maxAgeS: 0, noStore: true });
    expect(maxAgeOf(undefined).maxAgeS).toBe(300);
  });

  it('serves fresh copies from memory, revalidates stale ones with If-None-Match, and falls back to disk when the service is down', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-http-cache-'));
    let now = 1_000_000;
    const cache = new HttpCache({ dir, userAgent: 't', logger, now: () => now });
    hits = 0;
    expect(await cache.get(`${base}/a`)).toMatchObject({ status: 'ok', source: 'network', body: { ok: '/a' } });
    expect(await cache.get(`${base}/a`)).toMatchObject({ status: 'ok', source: 'memory' });
    expect(hits).toBe(1);
    now += 301_000;
    expect(await cache.get(`${base}/a`)).toMatchObject({ status: 'ok', body: { ok: '/a' } });
    expect(hits).toBe(2); // a 304
    await cache.whenWritten();
    expect(readdirSync(dir).filter((f) => f.endsWith('.json'))).toHaveLength(1);
    // A new process, the service down, the copy stale: the disk copy still answers.
    down = true;
    now += 10 * 3600_000;
    const restarted = new HttpCache({ dir, userAgent: 't', logger, now: () => now });
    expect(await restarted.get(`${base}/a`)).toMatchObject({ status: 'ok', source: 'stale', body: { ok: '/a' } });
    expect(await restarted.get(`${base}/b`)).toMatchObject({ status: 'unavailable' });
    down = false;
  });

  it('remembers a 404 for a while, and keeps no-store answers off the disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-http-cache-'));
    const cache = new HttpCache({ dir, userAgent: 't', logger });
    hits = 0;
    expect(await cache.get(`${base}/missing`)).toEqual({ status: 'notFound' });
    expect(await cache.get(`${base}/missing`)).toEqual({ status: 'notFound' });
    expect(hits).toBe(1);
    cacheControl = 'no-store';
    await cache.get(`${base}/private`);
    cacheControl = 'public, max-age=300';
    await cache.whenWritten();
    expect(readdirSync(dir)).toHaveLength(0);
  });

  it('a link planted in the cache folder is never written through, and nothing but the copy is left', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-http-cache-'));
    const victim = join(mkdtempSync(join(tmpdir(), 'rw-victim-')), 'precious.txt');
    writeFileSync(victim, 'keep me');
    const name = `${createHash('sha256').update(`${base}/planted`).digest('hex').slice(0, 32)}.json`;
    // Every name a temporary copy could once be predicted by (the process id), and the final name, point at the victim.
    symlinkSync(victim, join(dir, `${name}.${process.pid}.tmp`));
    symlinkSync(victim, join(dir, name));
    const cache = new HttpCache({ dir, userAgent: 't', logger });
    expect(await cache.get(`${base}/planted`)).toMatchObject({ status: 'ok', source: 'network' });
    await cache.whenWritten();
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
    // The final name is now the copy itself (the link replaced, not followed); no temporary file remains.
    expect(lstatSync(join(dir, name)).isFile()).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp') && !f.includes(`.${process.pid}.`))).toEqual([]);
  });

  it('a call does not wait for the disk copy: the answer comes from memory while the write is still going', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-http-cache-'));
    const cache = new HttpCache({ dir, userAgent: 't', logger });
    const got = await cache.get(`${base}/beside`);
    expect(got).toMatchObject({ status: 'ok', source: 'network' });
    // Nothing on disk yet in this very turn: the write was begun beside the call, not awaited by it.
    expect(readdirSync(dir).filter((f) => f.endsWith('.json'))).toHaveLength(0);
    await cache.whenWritten();
    expect(readdirSync(dir).filter((f) => f.endsWith('.json'))).toHaveLength(1);
  });
});

describe('upstream patterns under RE2 (hardening, second wave)', () => {
  const schema = {
    type: 'object',
    properties: { p: { type: 'string', pattern: '^(a+)+$' }, q: { type: 'string', pattern: '^b$' } },
  };
  const check = (task: Record<string, unknown>) =>
    validateAgainst(task, { air: 'a:b@c', requestSchema: schema, source: 'network' }, (x) => x);

  it('each pattern is enforced as written, a catastrophic one in linear time', async () => {
    const t0 = performance.now();
    await expect(check({ p: `${'a'.repeat(5000)}!` })).rejects.toThrow(/^p: must match pattern/);
    // A backtracking engine would take longer than the universe has; the bound only has to survive a loaded machine.
    expect(performance.now() - t0).toBeLessThan(10_000);
    await expect(check({ p: 'aaaa', q: 'b' })).resolves.toBeUndefined();
    await expect(check({ q: 'a' })).rejects.toThrow(/^q: must match pattern "\^b\$"/);
  });

  it('a schema past its bounds, or with a pattern RE2 cannot run, is unusable and says why', async () => {
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 100; i++) deep = { type: 'object', properties: { x: deep } };
    expect(overBounds(deep)).toMatch(/nested over/);
    expect(await unusableSchema({ type: 'object', properties: { x: { type: 'string', pattern: '(a)\\1' } } })).toMatch(
      /cannot be compiled/,
    );
  });
});
