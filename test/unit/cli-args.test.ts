import { describe, expect, it } from 'vitest';
import { num } from '../../src/commands/args.js';

describe('numeric CLI flags', () => {
  it('take plain decimals within their bounds', () => {
    expect(num({ width: '256' }, 'width', 1, 4096, true)).toBe(256);
    expect(num({ cost: '0.5' }, 'cost', 0, 10)).toBe(0.5);
    expect(num({}, 'width', 1, 4096)).toBeUndefined();
  });

  it.each(['0x100', '1e3', ' 256', '+256', '1_000', 'Infinity', '0b1', ''])(
    'refuse %j, naming the flag and the plain form',
    (v) => {
      expect(() => num({ width: v }, 'width', 1, 4096, true)).toThrow(/--width must be an integer from 1 to 4096/);
      if (v !== '') expect(() => num({ width: v }, 'width', 1, 4096, true)).toThrow(/plain digits/);
    },
  );

  it('refuse values out of bounds or fractions where whole numbers are asked', () => {
    expect(() => num({ width: '5000' }, 'width', 1, 4096, true)).toThrow(/from 1 to 4096, not "5000"/);
    expect(() => num({ width: '1.5' }, 'width', 1, 4096, true)).toThrow(/an integer/);
  });
});
