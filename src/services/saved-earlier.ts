/**
 * What an earlier call already saved of a task, so a poll reports it rather
 * than saving it again (a batch whose first outputs were saved before the wait
 * ran out, say). The task's record keeps each output's path by its UUID; one
 * counts when it is still a regular file in the folder this poll saves to,
 * under the name this saveTo gives that output (and no other output's record
 * names it too), with one link (as every saved output has:
 * a second name may be a file from elsewhere). Any other is saved again.
 */
import { lstat, realpath } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { formatFromExtension, MIME_OF } from '../media/formats.js';
import { resolveSaveTarget, safeBasename } from '../media/save.js';
import type { TaskRecord } from '../state/types.js';
import { outputName, type MediaInfo } from './outputs.js';

export async function savedEarlier(
  record: TaskRecord | undefined,
  saveTo: string,
  roots: string[],
): Promise<Map<string, MediaInfo>> {
  const out = new Map<string, MediaInfo>();
  const saved = (record?.outputs ?? []).filter((o) => o.uuid && o.savedTo);
  if (saved.length === 0) return out;
  const target = await resolveSaveTarget(saveTo, roots);
  const dir = await realpath(target.dir).catch(() => undefined);
  if (!dir) return out;
  // Named as OutputBatch names it: the caller's stem (numbered), else the output's own UUID.
  const named = saved.filter((o) => {
    const stem = target.stem ?? safeBasename(outputName(o.uuid!));
    const name = basename(o.savedTo!);
    return dirname(o.savedTo!) === dir && (name.startsWith(`${stem}.`) || name.startsWith(`${stem}-`));
  });
  // A path two records name is neither's for sure: both are saved again rather than one reported for the other.
  const claims = new Map<string, number>();
  for (const o of named) claims.set(o.savedTo!, (claims.get(o.savedTo!) ?? 0) + 1);
  await Promise.all(
    named.map(async (o) => {
      const path = o.savedTo!;
      if (claims.get(path) !== 1) return;
      const st = await lstat(path).catch(() => undefined);
      if (!st?.isFile() || st.nlink !== 1) return;
      const format = formatFromExtension(path);
      out.set(o.uuid!, { savedTo: path, ...(format ? { format, mimeType: MIME_OF[format] } : {}), bytes: st.size });
    }),
  );
  return out;
}
