/** Small helpers over node:util parseArgs that turn bad flags into UsageErrors. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { decimal, DECIMAL } from '../shared/decimal.js';
import { UsageError } from './output.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse(
  args: string[],
  options: Options,
  allowPositionals = false,
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({
      args,
      options: { help: { type: 'boolean', short: 'h' }, ...options },
      allowPositionals,
      strict: true,
    });
    return { values: r.values as Record<string, string | boolean | string[] | undefined>, positionals: r.positionals };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A numeric flag with bounds, or undefined when absent; `integer` also refuses fractions. */
export function num(
  values: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
  integer = false,
): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : decimal(String(v));
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    const form =
      typeof v === 'number' || DECIMAL.test(String(v)) ? '' : ' in plain digits (no spaces, +, hex or exponent)';
    throw new UsageError(
      `--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}${form}, not "${String(v)}"`,
    );
  }
  return n;
}

/**
 * A flag within the limits the MCP tool's schema uses too. A step (multipleOf) is
 * left to the task rules, which name the field and the model's own step.
 */
export const bounded = (
  values: Record<string, unknown>,
  name: string,
  l: { min: number; max: number; integer?: boolean },
): number | undefined => num(values, name, l.min, l.max, l.integer === true);

export const int = (values: Record<string, unknown>, name: string, min: number, max: number): number | undefined =>
  num(values, name, min, max, true);

export function str(values: Record<string, unknown>, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}
