/** A tool's entry in tools/list as its snapshot file holds it: everything a model reads, pretty-printed. */
import { fileURLToPath } from 'node:url';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';

export const SNAPSHOT_DIR = fileURLToPath(new URL('./snapshots/tools/', import.meta.url));

export const toolSnapshot = ({
  name,
  title,
  description,
  inputSchema,
  outputSchema,
  annotations,
  execution,
  _meta,
}: Tool): string =>
  `${JSON.stringify({ name, title, description, inputSchema, outputSchema, annotations, execution, _meta }, null, 2)}\n`;
