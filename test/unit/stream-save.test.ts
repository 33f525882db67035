import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamOutput } from '../../src/media/index.js';
import { materialize } from '../../src/services/outputs.js';
import { CancelledError } from '../../src/shared/errors.js';
import { renderImage } from '../../src/simulator/images.js';

// A media host on loopback: /png, a large /mp4 sent in slow chunks, /500, /hang (headers, then nothing), /junk.
const png = renderImage('PNG', 64, 64, 3);
const mp4 = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypisom'), Buffer.alloc(4 * 1024 * 1024 - 12, 7)]);
let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/png') return res.end(png);
    if (req.url === '/mp4') {
      res.writeHead(200, { 'content-type': 'video/mp4' });
      let at = 0;
      const next = (): void => {
        if (at >= mp4.length) return void res.end();
        res.write(mp4.subarray(at, (at += 256 * 1024)), () => setImmediate(next));
      };
      return next();
    }
    if (req.url === '/500') return res.writeHead(500).end('no');
    if (req.url === '/junk') return res.end(Buffer.from('just some text, not media'));
    if (req.url === '/hang') {
      res.writeHead(200);
      res.write(png.subarray(0, 100));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const slot = { index: 0, of: 1 };
const fresh = (): string => mkdtempSync(join(tmpdir(), 'rw-stream-'));
const leftovers = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.part'));

describe('outputs streamed to disk', () => {
  it('writes a large video as it downloads, keeps no bytes in memory, and leaves no part file', async () => {
    const root = fresh();
    const r = await streamOutput(`${base}/mp4`, { name: 'clip', slot }, 'out/', [root], { keep: () => false });
    expect(r.data).toBeUndefined();
    expect(r.format).toBe('MP4');
    expect(r.bytes).toBe(mp4.length);
    expect('path' in r.saved && r.saved.path).toBe(join(root, 'out', 'clip.mp4'));
    expect(readFileSync(join(root, 'out', 'clip.mp4')).equals(mp4)).toBe(true);
    expect(leftovers(join(root, 'out'))).toEqual([]);
  });

  it('keeps the bytes when a preview wants them, and names the file by what the bytes are', async () => {
    const root = fresh();
    const r = await streamOutput(`${base}/png`, { name: 'img', slot, expected: 'JPG' }, root, [root], {
      keep: (f) => f === 'PNG',
    });
    expect(r.data?.equals(png)).toBe(true);
    expect(r.saved).toMatchObject({
      path: join(root, 'img.png'),
      format: 'PNG',
      note: expect.stringContaining('not the JPG asked for'),
    });
  });

  it('never replaces a file or follows a symlink planted at the name', async () => {
    const root = fresh();
    const outside = fresh();
    writeFileSync(join(root, 'img.png'), 'keep me');
    symlinkSync(join(outside, 'victim.png'), join(root, 'img-1.png'));
    const r = await streamOutput(`${base}/png`, { name: 'img', slot }, root, [root], {});
    expect('path' in r.saved && r.saved.path).toBe(join(root, 'img-2.png'));
    expect(readFileSync(join(root, 'img.png'), 'utf8')).toBe('keep me');
    expect(readdirSync(outside)).toEqual([]);
  });

  it('numbers a batch under a named file by its slot', async () => {
    const root = fresh();
    const r = await streamOutput(`${base}/png`, { name: 'x', slot: { index: 2, of: 4 } }, 'cat.png', [root], {});
    expect('path' in r.saved && r.saved.path).toBe(join(root, 'cat-3.png'));
  });

  it('refuses a target outside the roots before downloading anything to disk', async () => {
    const root = fresh();
    const r = await streamOutput(`${base}/png`, { name: 'img', slot }, '/etc/', [root], { keep: () => true });
    expect(r.saved).toMatchObject({ error: expect.stringContaining('outside the allowed output directories') });
    expect(r.data?.equals(png)).toBe(true);
  });

  it('removes the part file when the bytes are not media, the host fails, the call is cancelled or the download outlives its deadline', async () => {
    const root = fresh();
    const junk = await streamOutput(`${base}/junk`, { name: 'j', slot }, root, [root], {});
    expect(junk.saved).toMatchObject({ error: expect.stringContaining('not a recognised image, video or audio file') });
    await expect(streamOutput(`${base}/500`, { name: 'e', slot }, root, [root], {})).rejects.toThrow(/HTTP 500/);
    const ctl = new AbortController();
    const cancelled = streamOutput(`${base}/hang`, { name: 'c', slot }, root, [root], { signal: ctl.signal });
    setTimeout(() => ctl.abort(), 50);
    await expect(cancelled).rejects.toBeInstanceOf(CancelledError);
    await expect(streamOutput(`${base}/hang`, { name: 'h', slot }, root, [root], { timeoutMs: 100 })).rejects.toThrow(
      /longer than/,
    );
    expect(readdirSync(root)).toEqual([]);
  });
});

describe('a large batch', () => {
  it('sixteen outputs saved under one cancellable call raise no listener-leak warning, and each lands once', async () => {
    const root = fresh();
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const ctl = new AbortController();
      const results = Array.from({ length: 16 }, (_, i) => ({
        taskUUID: 't',
        imageUUID: `img-${i}`,
        imageURL: `${base}/png`,
      }));
      const m = await materialize(results, 't', {
        saveTo: 'batch/',
        roots: [root],
        previewMaxBytes: 0,
        signal: ctl.signal,
      });
      expect(m.info.every((x) => x.savedTo && x.format === 'PNG')).toBe(true);
      expect(readdirSync(join(root, 'batch')).sort()).toEqual(results.map((r) => `runware-${r.imageUUID}.png`).sort());
      await new Promise((r) => setImmediate(r));
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });
});
