/**
 * What the MCP Inspector's --strict warns about in a JSON Schema, as a check
 * the tests can run without Node 22: an empty schema anywhere, or a `type` array.
 */
type Json = unknown;

const isEmpty = (v: Json): boolean => !!v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0;

/** Where a schema is not portable, by path: `{}` anywhere, or a `type` array (what the Inspector's --strict warns about). */
export function portabilityProblems(schema: Json, path = ''): string[] {
  if (Array.isArray(schema)) return schema.flatMap((s, i) => portabilityProblems(s, `${path}[${i}]`));
  if (!schema || typeof schema !== 'object') return [];
  const o = schema as Record<string, Json>;
  const found: string[] = [];
  if (Array.isArray(o.type)) found.push(`${path || '.'}: type is an array`);
  for (const [k, v] of Object.entries(o)) {
    const at = `${path}.${k}`;
    if (k === 'properties' || k === '$defs' || k === 'definitions' || k === 'patternProperties') {
      for (const [name, sub] of Object.entries((v ?? {}) as Record<string, Json>)) {
        if (isEmpty(sub)) found.push(`${at}.${name}: empty schema`);
        found.push(...portabilityProblems(sub, `${at}.${name}`));
      }
    } else if (v && typeof v === 'object') {
      if (isEmpty(v) && k !== 'default' && k !== 'const' && k !== 'examples') found.push(`${at}: empty schema`);
      found.push(...portabilityProblems(v, at));
    }
  }
  return found;
}
