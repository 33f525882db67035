/**
 * Saved files keep their names (runware-<uuid>): the lost names came from simulator keys
 * spelled "sim-runware-<hex>", whose 10-character runs "runware-" + two hex digits matched
 * one file name in 256 per simulator, and a test process registers many simulators.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { safeBasename } from '../../src/media/save.js';
import { scrubber } from '../../src/shared/redact.js';
import { SimState } from '../../src/simulator/state.js';

const PRODUCT_WORDS = [
  'runware',
  'runway',
  'useapi',
  'makevid',
  'sim',
  'key',
  'user',
  'output',
  'task',
  'image',
  'media',
];

describe("the simulator's keys", () => {
  it('carry no word the product also writes, and are long enough to be scrubbed', () => {
    for (let i = 0; i < 20; i++) {
      for (const [name, key] of Object.entries(SimState.newCredentials())) {
        expect(key.length, name).toBeGreaterThanOrEqual(12);
        for (const w of PRODUCT_WORDS) expect(key.toLowerCase(), `${name} holds "${w}"`).not.toContain(w);
      }
    }
  });
});

describe('a saved file name', () => {
  it('stays runware-<uuid> however many simulators the process registered', () => {
    for (let i = 0; i < 100; i++) {
      const c = SimState.newCredentials();
      scrubber.addSecrets(c.apiKey, c.runwaySecret, c.useapiToken, c.makevidKey);
    }
    const renamed = Array.from({ length: 500 }, () => `runware-${randomUUID()}`).filter((n) => safeBasename(n) !== n);
    expect(renamed).toEqual([]);
  });

  it("is not rewritten for a key's run that overlaps the product's own text", () => {
    // A key in the old simulator spelling: "runware-c1" is one of its runs.
    scrubber.addSecrets('sim-runware-c1e6f751127c49538abda38cbf07f9ac');
    const name = 'runware-c1aa0000-0000-4000-8000-000000000000';
    expect(safeBasename(name)).toBe(name);
  });

  it('is rewritten when the key shows only once the name is cleaned: format controls between its pieces, full-width letters', () => {
    const key = 'CANARYrunwareKEY-5f1c9e27a0b84d3c';
    scrubber.addSecrets(key);
    const fullWidth = key.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
    for (const name of ['CANARYrun\u200EwareKEY-\u2066\u20695f1c9e27\u200Fa0b84d3c.png', `${fullWidth}.png`]) {
      expect(safeBasename(name)).toMatch(/^output-[0-9a-f]{16}$/);
    }
  });

  it('is rewritten when it holds the key escaped one character at a time', () => {
    const key = 'CANARYrunwareKEY-5f1c9e27a0b84d3c';
    scrubber.addSecrets(key);
    const codes = [...key].map((c) => c.charCodeAt(0));
    for (const name of [
      `${codes.map((c) => `%${c.toString(16)}`).join('')}.png`,
      `${codes.map((c) => `&#${c};`).join('')}.png`,
      `img-${codes.map((c, i) => (i % 2 ? String.fromCharCode(c) : `\\u00${c.toString(16)}`)).join('')}.png`,
    ])
      expect(safeBasename(name), name).toMatch(/^output-[0-9a-f]{16}$/);
  });

  it('is still rewritten when what it carries besides that text holds a run of a key', () => {
    scrubber.addSecrets('zz-0123456789abcdef-key');
    expect(safeBasename('runware-0123456789ab')).toMatch(/^output-[0-9a-f]{16}$/);
    expect(safeBasename('runware-sim-runware-c1e6f751127c')).toMatch(/^output-[0-9a-f]{16}$/);
  });
});
