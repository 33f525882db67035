/**
 * What an earlier call already saved of a task, so a poll reports it rather
 * than saving it again (a batch whose first outputs were saved before the wait
 * ran out, say). The task's record keeps each output's path by its UUID; one
 * counts when it is still a regular file in the folder this poll saves to,
 * under the name this saveTo gives, with one link (as every saved output has:
 * a second name may be a file from elsewhere). Any other is saved again.
 */
import { lstat, realpath } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { formatFromExtension, MIME_OF } from '../media/formats.js';
import { resolveSaveTarget } from '../media/save.js';
import type { TaskRecord } from '../state/types.js';
import type { MediaInfo } from './outputs.js';

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
  await Promise.all(
    saved.map(async (o) => {
      const path = o.savedTo!;
      if (dirname(path) !== dir || !basename(path).startsWith(target.stem ?? 'runware-')) return;
      const st = await lstat(path).catch(() => undefined);
      if (!st?.isFile() || st.nlink !== 1) return;
      const format = formatFromExtension(path);
      out.set(o.uuid!, { savedTo: path, ...(format ? { format, mimeType: MIME_OF[format] } : {}), bytes: st.size });
    }),
  );
  return out;
}
