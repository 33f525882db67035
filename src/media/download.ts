/** Bounded downloads of generated media: a deadline, a size cap, cancellation; into memory or straight to a file. */
import { undici } from '../shared/undici.js';
import { CancelledError, NetworkError, UpstreamError } from '../shared/errors.js';
import { deadline } from '../shared/time.js';
import { FILES, TUNABLE } from '../runware/timing.js';

export interface DownloadOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  maxBytes?: number;
}

export const DEFAULT_MAX_DOWNLOAD = 64 * 1024 * 1024;

/** Where a streamed body goes, chunk by chunk; a chunk's promise holds the next read, so a slow disk slows the download rather than filling memory. */
export type ChunkSink = (chunk: Buffer, signal: AbortSignal) => Promise<void> | void;

/**
 * GETs `url` and hands its body to `sink` as it arrives, within one deadline
 * (headers, body and the sink's writes) and the size cap. Returns the byte count.
 */
export async function streamDownload(url: string, sink: ChunkSink, opts: DownloadOptions = {}): Promise<number> {
  if (!/^https?:\/\//.test(url))
    throw new UpstreamError('Only http(s) media URLs can be downloaded.', { category: 'validation', retryable: false });
  const { request } = await undici();
  const max = opts.maxBytes ?? DEFAULT_MAX_DOWNLOAD;
  const time = deadline(opts.signal, opts.timeoutMs ?? TUNABLE.downloadTimeoutMs);
  try {
    const res = await request(url, {
      method: 'GET',
      signal: time.signal,
      headersTimeout: FILES.downloadHeadersMs,
      bodyTimeout: FILES.downloadIdleMs,
      maxRedirections: 0,
    } as Parameters<typeof request>[1]);
    if (res.statusCode >= 400) {
      await res.body.dump();
      throw new UpstreamError(`Downloading the output failed with HTTP ${res.statusCode}.`, {
        status: res.statusCode,
        category: res.statusCode >= 500 ? 'serverError' : 'notFound',
        retryable: res.statusCode >= 500,
      });
    }
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      res.body.destroy();
      throw tooLarge(max);
    }
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > max) {
        res.body.destroy();
        throw tooLarge(max);
      }
      await sink(chunk as Buffer, time.signal);
    }
    return size;
  } catch (e) {
    if (opts.signal?.aborted) throw new CancelledError();
    if (e instanceof UpstreamError) throw e;
    if (time.expired)
      throw new NetworkError(
        `Downloading the output took longer than ${Math.round((opts.timeoutMs ?? TUNABLE.downloadTimeoutMs) / 1000)} s.`,
        false,
      );
    throw new NetworkError(`Downloading the output failed: ${(e as Error).message}`, false);
  } finally {
    time.done();
  }
}

/** The whole body in memory (previews, or a caller that keeps no file). */
export async function download(url: string, opts: DownloadOptions = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await streamDownload(url, (c) => void chunks.push(c), opts);
  return Buffer.concat(chunks);
}

const tooLarge = (max: number): UpstreamError =>
  new UpstreamError(`The output is larger than ${max} bytes; not downloaded.`, {
    category: 'validation',
    retryable: false,
  });
