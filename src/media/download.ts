/** Bounded downloads of generated media: a deadline, a size cap, cancellation. */
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

export async function download(url: string, opts: DownloadOptions = {}): Promise<Buffer> {
  if (!/^https?:\/\//.test(url)) throw new UpstreamError('Only http(s) media URLs can be downloaded.', { category: 'validation', retryable: false });
  const { request } = await undici();
  const max = opts.maxBytes ?? DEFAULT_MAX_DOWNLOAD;
  const time = deadline(opts.signal, opts.timeoutMs ?? TUNABLE.downloadTimeoutMs);
  try {
    const res = await request(url, { method: 'GET', signal: time.signal, headersTimeout: FILES.downloadHeadersMs, bodyTimeout: FILES.downloadIdleMs, maxRedirections: 0 } as Parameters<typeof request>[1]);
    if (res.statusCode >= 400) {
      await res.body.dump();
      throw new UpstreamError(`Downloading the output failed with HTTP ${res.statusCode}.`, { status: res.statusCode, category: res.statusCode >= 500 ? 'serverError' : 'notFound', retryable: res.statusCode >= 500 });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > max) {
        res.body.destroy();
        throw new UpstreamError(`The output is larger than ${max} bytes; not downloaded.`, { category: 'validation', retryable: false });
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  } catch (e) {
    if (opts.signal?.aborted) throw new CancelledError();
    if (e instanceof UpstreamError) throw e;
    throw new NetworkError(`Downloading the output failed: ${(e as Error).message}`, false);
  } finally {
    time.done();
  }
}
