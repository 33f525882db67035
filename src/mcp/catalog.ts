/**
 * What tools/list shows beyond what registerTool can say: schemas in their
 * portable spelling (in MCP's default dialect, 2020-12, where they read the
 * same), icons, and which tools run as tasks. The contract is the
 * same; only how it is written changes, so clients that map JSON Schema onto a
 * narrower dialect (OpenAPI subsets, single `type`) read it the same way.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';

type Json = unknown;

/**
 * The same schema, portably: `{}` as an open object's value becomes `true`
 * (both accept anything; `{}` reads as a forgotten type), `items: {}` goes
 * (it constrained nothing), and `type: [T,
 * "null"]` becomes `anyOf: [{type: T, ...}, {type: "null"}]`.
 */
export function portable(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(portable);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(schema as Record<string, Json>)) {
    if (k === 'additionalProperties' && isEmpty(v)) out[k] = true;
    else if (k === 'items' && isEmpty(v))
      continue; // no items keyword: any items, as {} said
    else if (k === 'propertyNames' && isStringType(v))
      continue; // JSON keys are strings: it says nothing
    else if (k === 'properties' || k === '$defs' || k === 'definitions' || k === 'patternProperties')
      out[k] = mapValues(v, portable);
    else out[k] = portable(v);
  }
  const type = out.type;
  if (Array.isArray(type) && type.length > 1) {
    const { type: _t, ...rest } = out;
    const nonNull = (type as string[]).filter((t) => t !== 'null');
    const hasNull = nonNull.length < type.length;
    // Keywords that describe the field stay outside; the ones that constrain a type go into its branch.
    const { description, title, default: dflt, examples, ...constraints } = rest;
    const branches: Json[] = nonNull.map((t) => ({ type: t, ...constraints }));
    if (hasNull) branches.push({ type: 'null' });
    return {
      ...(title !== undefined ? { title } : {}),
      ...(description !== undefined ? { description } : {}),
      ...(dflt !== undefined ? { default: dflt } : {}),
      ...(examples !== undefined ? { examples } : {}),
      anyOf: branches,
    };
  }
  return out;
}

/** Keywords whose meaning changed after draft-07: a schema without them reads the same under 2020-12. */
const DRAFT7_ONLY = new Set(['definitions', 'dependencies', 'additionalItems']);
function sameUnder2020(schema: Json): boolean {
  if (Array.isArray(schema)) return schema.every(sameUnder2020);
  if (!schema || typeof schema !== 'object') return true;
  for (const [k, v] of Object.entries(schema as Record<string, Json>)) {
    if (DRAFT7_ONLY.has(k) || (k === 'items' && Array.isArray(v))) return false;
    if (k !== 'enum' && k !== 'const' && k !== 'default' && k !== 'examples' && !sameUnder2020(v)) return false;
  }
  return true;
}

/**
 * A tool's top-level schema, portably: the draft-07 `$schema` the SDK writes
 * is dropped when nothing in the schema reads differently under 2020-12, the
 * dialect MCP assumes without one (SEP-1613); otherwise it stays.
 */
export function portableToolSchema(schema: Json): Json {
  const p = portable(schema) as Record<string, Json>;
  if (typeof p.$schema === 'string' && p.$schema.includes('draft-07') && sameUnder2020(p)) {
    const { $schema: _s, ...rest } = p;
    return rest;
  }
  return p;
}

const isStringType = (v: Json): boolean =>
  !!v &&
  typeof v === 'object' &&
  !Array.isArray(v) &&
  Object.keys(v).length === 1 &&
  (v as Record<string, Json>).type === 'string';
const isEmpty = (v: Json): boolean => !!v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0;
const mapValues = (v: Json, f: (x: Json) => Json): Json =>
  v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v as Record<string, Json>).map(([k, x]) => [k, f(x)]))
    : v;

const svg = (body: string): string =>
  `data:image/svg+xml;base64,${Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="#7c3aed" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${body}</svg>`).toString('base64')}`;

/** Small inline SVGs (no network fetch to show them), one per kind of tool. */
export const ICONS = {
  server: svg(
    '<rect x="3" y="3" width="18" height="18" rx="4"/><path d="M12 7l1.5 3.5L17 12l-3.5 1.5L12 17l-1.5-3.5L7 12l3.5-1.5z"/>',
  ),
  generate: svg('<path d="M12 3l2 5 5 2-5 2-2 5-2-5-5-2 5-2z"/><path d="M19 17v4M17 19h4"/>'),
  search: svg('<circle cx="11" cy="11" r="6"/><path d="M20 20l-4.5-4.5"/>'),
  upload: svg('<path d="M12 16V4M7 9l5-5 5 5"/><path d="M4 20h16"/>'),
  task: svg('<circle cx="12" cy="12" r="8"/><path d="M12 8v4l3 2"/>'),
  account: svg(
    '<circle cx="12" cy="12" r="8"/><path d="M15 9.5c-.5-1-1.6-1.5-3-1.5-1.7 0-3 .8-3 2s1.3 1.7 3 2 3 .8 3 2-1.3 2-3 2c-1.4 0-2.5-.5-3-1.5M12 6v2M12 16v2"/>',
  ),
  video: svg('<rect x="3" y="6" width="13" height="12" rx="2"/><path d="M16 10l5-3v10l-5-3z"/>'),
} as const;

export type IconKind = keyof typeof ICONS;
export const icon = (kind: IconKind): Tool['icons'] => [
  { src: ICONS[kind], mimeType: 'image/svg+xml', sizes: ['any'] },
];

/** What tools/list adds to a tool (from its definition, tools/define.ts): its icon and whether it may run as a task. */
export interface CatalogEntry {
  icon: IconKind;
  task: boolean;
}

/** The listing as sent: portable schemas, each tool's icon, and task support where the tool has it. */
export function decorateTools(tools: Tool[], extras: ReadonlyMap<string, CatalogEntry>): Tool[] {
  return tools.map((t) => {
    const x = extras.get(t.name);
    return {
      ...t,
      inputSchema: portableToolSchema(t.inputSchema) as Tool['inputSchema'],
      ...(t.outputSchema ? { outputSchema: portableToolSchema(t.outputSchema) as Tool['outputSchema'] } : {}),
      ...(x ? { icons: icon(x.icon) } : {}),
      ...(x?.task ? { execution: { taskSupport: 'optional' as const } } : {}),
    };
  });
}
