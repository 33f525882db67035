/** The portable spelling of tool schemas: the same contract (ajv agrees on every value), no construct --strict warns about. */
import { Ajv } from 'ajv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decorateTools, portable, portableToolSchema } from '../../src/mcp/catalog.js';
import { portabilityProblems } from '../portability.js';

const SCHEMAS: Array<Record<string, unknown>> = [
  {
    type: 'object',
    properties: {
      a: { type: ['number', 'null'], minimum: 0, description: 'a count' },
      b: { type: 'object', additionalProperties: {} },
    },
    required: ['a'],
    additionalProperties: false,
  },
  {
    type: 'object',
    properties: {
      list: {
        type: 'array',
        items: {
          type: 'object',
          properties: { x: { type: ['string', 'null'], maxLength: 3 } },
          additionalProperties: {},
        },
      },
    },
  },
  { type: ['string', 'number', 'null'], minLength: 2, minimum: 5 },
  {
    anyOf: [
      { type: 'object', additionalProperties: {} },
      { type: 'array', items: {} },
    ],
  },
  { type: 'object', properties: { e: { type: ['string', 'null'], enum: ['a', 'b', null] } } },
];

describe('portable()', () => {
  it('accepts and refuses exactly the same values as the original', () => {
    const ajv = new Ajv({ strict: false });
    for (const schema of SCHEMAS) {
      const before = ajv.compile(schema);
      const after = ajv.compile(portable(schema) as object);
      fc.assert(
        fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => before(v) === after(v)),
        { numRuns: 400 },
      );
      for (const v of [
        null,
        1,
        7,
        'x',
        'abcd',
        {},
        { a: null },
        { a: -1 },
        { a: 3, b: { z: 1 } },
        { list: [{ x: 'ab' }, { x: null }] },
        { list: [{ x: 'abcd' }] },
        { e: null },
        { e: 'c' },
        [],
      ])
        expect(after(v), JSON.stringify([schema, v])).toBe(before(v));
    }
  });

  it('drops propertyNames {type: "string"} (every JSON key is a string), and nothing else of that name', () => {
    const ajv = new Ajv({ strict: false });
    const schema = {
      type: 'object',
      properties: {
        propertyNames: { type: 'string' },
        r: { type: 'object', propertyNames: { type: 'string' }, additionalProperties: { type: 'number' } },
        k: { type: 'object', propertyNames: { type: 'string', maxLength: 2 } },
      },
    };
    const after = portable(schema) as { properties: Record<string, Record<string, unknown>> };
    expect(after.properties.propertyNames).toEqual({ type: 'string' });
    expect(after.properties.r).not.toHaveProperty('propertyNames');
    expect(after.properties.k).toHaveProperty('propertyNames');
    const [b, a] = [ajv.compile(schema), ajv.compile(after as object)];
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => b(v) === a(v)),
      { numRuns: 400 },
    );
    for (const v of [{ r: { x: 1 } }, { r: { x: 'y' } }, { k: { abc: 1 } }, { propertyNames: 3 }])
      expect(a(v)).toBe(b(v));
  });

  it('leaves nothing the Inspector --strict warns about', () => {
    for (const s of SCHEMAS) {
      expect(portabilityProblems(s).length).toBeGreaterThan(0);
      expect(portabilityProblems(portable(s))).toEqual([]);
    }
  });

  it('drops the draft-07 $schema only where 2020-12 reads the schema the same', () => {
    expect(
      portableToolSchema({
        $schema: 'http://json-schema.org/draft-07/schema#',
        type: 'object',
        properties: { a: { type: 'string' } },
      }),
    ).not.toHaveProperty('$schema');
    expect(
      portableToolSchema({
        $schema: 'http://json-schema.org/draft-07/schema#',
        type: 'object',
        properties: { t: { type: 'array', items: [{ type: 'string' }] } },
      }),
    ).toHaveProperty('$schema');
    expect(
      portableToolSchema({
        $schema: 'http://json-schema.org/draft-07/schema#',
        type: 'object',
        definitions: { x: {} },
      }),
    ).toHaveProperty('$schema');
  });

  it('adds icons and task support from the catalog, nothing else', () => {
    const [a, b] = decorateTools(
      [
        { name: 'a', inputSchema: { type: 'object' } },
        { name: 'b', inputSchema: { type: 'object' } },
      ],
      new Map([
        ['a', { icon: 'generate' as const, task: true }],
        ['b', { icon: 'search' as const, task: false }],
      ]),
    );
    expect(a).toMatchObject({
      execution: { taskSupport: 'optional' },
      icons: [{ mimeType: 'image/svg+xml', src: expect.stringMatching(/^data:image\/svg\+xml;base64,/) }],
    });
    expect(b!.execution).toBeUndefined();
    expect(Buffer.from(a!.icons![0]!.src.split(',')[1]!, 'base64').toString()).toMatch(/^<svg /);
  });
});
