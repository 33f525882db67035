/** What a client's JSON env really holds: `~` unexpanded, relative folders, placeholder keys under --simulate. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { scrubber } from '../../src/shared/redact.js';

describe('folders in the environment', () => {
  it('expand a leading ~ (JSON env does not), for the output, state, cache and input folders', () => {
    const c = loadConfig({
      RUNWARE_OUTPUT_DIR: '~/Pictures/runware',
      RUNWARE_STATE_DIR: '~/state',
      RUNWARE_CACHE_DIR: '~',
      RUNWARE_INPUT_DIRS: '~/in',
    });
    expect(c.outputDir).toBe(join(homedir(), 'Pictures', 'runware'));
    expect(c.stateDir).toBe(join(homedir(), 'state'));
    expect(c.cacheDir).toBe(homedir());
    expect(c.inputDirs).toEqual([join(homedir(), 'in')]);
  });

  it('refuse a relative folder, naming the variable and why', () => {
    for (const name of ['RUNWARE_OUTPUT_DIR', 'RUNWARE_STATE_DIR', 'RUNWARE_CACHE_DIR']) {
      expect(() => loadConfig({ [name]: 'runware-out' }), name).toThrow(
        new RegExp(
          `${name} must be an absolute path \\(or start with ~/\\), not "runware-out": a relative one would depend on the folder the client starts the server in`,
        ),
      );
    }
    expect(() => loadConfig({ RUNWARE_OUTPUT_DIR: '~user/x' })).toThrow(/must be an absolute path/);
  });

  it('keep an absolute folder as it is, and treat an empty one as unset', () => {
    expect(loadConfig({ RUNWARE_OUTPUT_DIR: '/tmp/out/' }).outputDir).toBe('/tmp/out');
    expect(loadConfig({ RUNWARE_OUTPUT_DIR: ' ' }).outputDir).toBeUndefined();
  });
});

describe('--simulate and the keys it does not use', () => {
  const placeholders = {
    RUNWARE_API_KEY: 'your-key',
    RUNWAYML_API_SECRET: 'x',
    USEAPI_API_TOKEN: 'short',
    MAKEVID_API_KEY: 'k',
  };

  it("accepts the snippet's placeholder keys under --simulate or RUNWARE_SIMULATE", () => {
    expect(loadConfig(placeholders, { simulate: true }).simulate).toBe(true);
    expect(loadConfig({ ...placeholders, RUNWARE_SIMULATE: '1' }).runware.apiKey).toBeUndefined();
  });

  it('still refuses them without it, and still refuses a short HTTP token (the HTTP server is real under --simulate)', () => {
    expect(() => loadConfig(placeholders)).toThrow(/RUNWARE_API_KEY: is shorter than 12 characters/);
    expect(() => loadConfig({ RUNWARE_MCP_HTTP_TOKEN: 'short' }, { simulate: true })).toThrow(/RUNWARE_MCP_HTTP_TOKEN/);
  });

  it('still keeps a real key out of outputs when it is not used', () => {
    const key = 'rw-real-key-9f8e7d6c5b4a';
    loadConfig({ RUNWARE_API_KEY: key }, { simulate: true });
    expect(scrubber.text(`leaked ${key}`)).not.toContain(key);
  });
});
