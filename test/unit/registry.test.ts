/** The MCP Registry entry: valid against the Registry's schema, in step with package.json and src/config.ts. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule from 'ajv';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');
const server = JSON.parse(read('server.json')) as {
  name: string;
  version: string;
  repository: { url: string };
  packages: Array<{
    registryType: string;
    identifier: string;
    version: string;
    transport: { type: string };
    environmentVariables: Array<{ name: string; isSecret?: boolean }>;
  }>;
};
const pkg = JSON.parse(read('package.json')) as {
  name: string;
  version: string;
  mcpName: string;
  repository: { url: string };
};

/** The variables src/config.ts reads: the keys of its env schema. */
function configVariables(): string[] {
  const src = read('src/config.ts');
  const block = /const envSchema = z\.object\(\{([\s\S]*?)\n\}\);/.exec(src)?.[1] ?? '';
  return [...block.matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!);
}

describe('server.json', () => {
  it("validates against the Registry's schema (vendored in test/fixtures/mcp-registry)", () => {
    const schema = JSON.parse(read('test/fixtures/mcp-registry/server.schema.json')) as Record<string, unknown>;
    // The schema carries OpenAPI's `example` and `discriminator`, which Ajv's strict mode would refuse as unknown keywords.
    const Ajv = ((AjvModule as unknown as { default?: typeof AjvModule }).default ??
      AjvModule) as unknown as typeof AjvModule.default;
    const ajv = new Ajv({ strict: false, allErrors: true });
    ajv.addFormat('uri', (s: string) => URL.canParse(s));
    const validate = ajv.compile(schema);
    expect(validate(server), ajv.errorsText(validate.errors)).toBe(true);
    // The check has teeth: a name without its namespace, or a package version of "latest", is refused.
    expect(validate({ ...server, name: 'runware-mcp-server' })).toBe(false);
    expect(validate({ ...server, packages: [{ ...server.packages[0], version: 'latest' }] })).toBe(false);
    // And the schema is the one server.json names.
    expect((server as unknown as { $schema: string }).$schema).toBe(schema.$id);
  });

  it('is current: what scripts/server-json.mjs makes from package.json', async () => {
    const { serverJsonText } = (await import(join(ROOT, 'scripts', 'server-json.mjs'))) as {
      serverJsonText: () => string;
    };
    expect(read('server.json'), 'run: node scripts/server-json.mjs').toBe(serverJsonText());
  });

  it("names the package.json's mcpName, version, repository and npm package, over stdio", () => {
    expect(pkg.mcpName).toBe('io.github.runware-mcp-server/runware-mcp-server');
    expect(server.name).toBe(pkg.mcpName);
    expect(server.version).toBe(pkg.version);
    expect(pkg.repository.url).toBe('git+https://github.com/runware-mcp-server/runware-mcp-server.git');
    expect(server.repository.url).toBe('https://github.com/runware-mcp-server/runware-mcp-server');
    expect(server.packages).toHaveLength(1);
    expect(server.packages[0]).toMatchObject({
      registryType: 'npm',
      identifier: pkg.name,
      version: pkg.version,
      transport: { type: 'stdio' },
    });
  });

  it('lists every variable src/config.ts reads, secrets marked', () => {
    const listed = server.packages[0]!.environmentVariables;
    const read = configVariables();
    expect(read.length).toBeGreaterThan(25);
    expect(
      read.filter((n) => !listed.some((e) => e.name === n)),
      'variables config.ts reads that server.json does not list',
    ).toEqual([]);
    expect(
      listed.filter((e) => !read.includes(e.name)).map((e) => e.name),
      'listed but not read',
    ).toEqual([]);
    const secrets = listed
      .filter((e) => e.isSecret)
      .map((e) => e.name)
      .sort();
    expect(secrets).toEqual([
      'MAKEVID_API_KEY',
      'RUNWARE_API_KEY',
      'RUNWARE_MCP_HTTP_TOKEN',
      'RUNWARE_STATE_URL',
      'RUNWAYML_API_SECRET',
      'USEAPI_API_TOKEN',
    ]);
  });
});
