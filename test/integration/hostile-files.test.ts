/**
 * Files named by someone else, in process (real createServer() + SDK Client):
 * a saved output swapped for a link, an edited record, a FIFO, a file holding
 * the key; local inputs swapped while they are read. Nothing outside the
 * allowed directories is served or sent, and nothing hangs.
 */
import { execFileSync, spawn } from 'node:child_process';
import { linkSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { readLocalMedia } from '../../src/media/local.js';
import { readRegularFileWithin, UnsafeFileError } from '../../src/media/safe-read.js';
import { AppContext } from '../../src/services/context.js';
import { Logger } from '../../src/shared/log.js';
import type { TaskRecord } from '../../src/state/types.js';
import { CANARY, Capture } from '../helpers.js';
import { serveInProcess } from '../in-process.js';

const capture = new Capture();
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
let app: AppContext;
let client: Client;
let out: string;
let outside: string;

const uuid = (n: number): string => `3f0c1a2b-4d5e-4f60-8a7b-${String(n).padStart(12, '0')}`;
async function record(n: number, savedTo: string): Promise<string> {
  const now = new Date().toISOString();
  const r: TaskRecord = {
    taskUUID: uuid(n),
    attempts: [],
    taskType: 'imageInference',
    status: 'success',
    createdAt: now,
    updatedAt: now,
    numberResults: 1,
    outputs: [{ savedTo, kind: 'image' }],
    request: {},
  };
  await (await app.journal.state()).putTask(uuid(n), r);
  return `runware://tasks/${uuid(n)}/outputs/0`;
}
/** Swaps argv[1] between a real directory (parked at argv[2]) and a link to argv[3], for ever. */
const FLIPPER = `const fs = require('node:fs'); const [flip, parked, target] = process.argv.slice(1);
for (;;) { try { fs.renameSync(flip, parked); fs.symlinkSync(target, flip); fs.unlinkSync(flip); fs.renameSync(parked, flip); } catch {} }`;
const read = (uri: string) => client.readResource({ uri }, { timeout: 5000 });

beforeAll(async () => {
  const home = capture.tempDir();
  out = join(home, 'out');
  outside = join(home, 'outside');
  mkdirSync(out);
  mkdirSync(outside);
  const config = loadConfig({
    HOME: home,
    RUNWARE_API_KEY: CANARY.apiKey,
    RUNWARE_OUTPUT_DIR: out,
    RUNWARE_STATE_DIR: join(home, 'state'),
    RUNWARE_CACHE_DIR: join(home, 'cache'),
  });
  app = new AppContext(config, new Logger('error'));
  client = (await serveInProcess(app, { name: 'test' })).client;
});
afterAll(async () => {
  await client?.close();
  await app?.close();
  // The planted files hold the key on purpose; everything else must not.
  for (const f of [join(outside, 'environ'), join(out, 'b.png'), join(out, 'd.png')]) rmSync(f, { force: true });
  expect(capture.leaks()).toEqual([]);
});

describe('1. a resource reads only a regular file inside the allowed directories', () => {
  it('serves a saved output that is what it claims', async () => {
    writeFileSync(join(out, 'a.png'), PNG);
    const r = await read(await record(1, join(out, 'a.png')));
    expect(Buffer.from((r.contents[0] as { blob: string }).blob, 'base64')).toEqual(PNG);
  });

  it('a saved output replaced by a link to a file holding the key is refused, naming the task and output', async () => {
    writeFileSync(join(outside, 'environ'), `PATH=/bin\0RUNWARE_API_KEY=${CANARY.apiKey}\0`);
    symlinkSync(join(outside, 'environ'), join(out, 'b.png'));
    const err = await read(await record(2, join(out, 'b.png'))).catch((e: Error) => e);
    capture.add(String(err));
    expect(err).toBeInstanceOf(Error);
    expect(String(err)).toMatch(new RegExp(`output 0 of task ${uuid(2)}`));
    expect(String(err)).not.toContain(CANARY.apiKey.slice(0, 12));
  });

  it('a link to /proc/self/environ, and a record edited to name /etc/passwd, are refused', async () => {
    symlinkSync('/proc/self/environ', join(out, 'c.png'));
    for (const uri of [await record(3, join(out, 'c.png')), await record(4, '/etc/passwd')]) {
      const err = await read(uri).catch((e: Error) => e);
      capture.add(String(err));
      expect(String(err)).toMatch(/outside the directories allowed now|not served/);
      expect(String(err)).not.toMatch(/root:x:0/);
    }
  });

  it('a file inside the folder whose bytes hold the key is not served', async () => {
    writeFileSync(join(out, 'd.png'), Buffer.concat([PNG, Buffer.from(CANARY.apiKey)]));
    const err = await read(await record(5, join(out, 'd.png'))).catch((e: Error) => e);
    capture.add(String(err));
    expect(String(err)).toMatch(/holds a secret/);
  });
});

describe('1b. an output is named one way only', () => {
  it('a hard link inside the folder to a file outside it is not served (a saved output has one link)', async () => {
    writeFileSync(join(outside, 'secret.png'), Buffer.concat([PNG, Buffer.from('private')]));
    linkSync(join(outside, 'secret.png'), join(out, 'h.png'));
    const err = await read(await record(20, join(out, 'h.png'))).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String(err)).toMatch(/hard links/);
    rmSync(join(out, 'h.png'));
  });

  it('an output index is decimal digits only: 0x0, 00, 1e0 and a space are refused, 0 is served', async () => {
    writeFileSync(join(out, 'i.png'), PNG);
    const uri = await record(21, join(out, 'i.png'));
    expect((await read(uri)).contents).toHaveLength(1);
    for (const bad of ['0x0', '00', '1e0', '%200', '-0']) {
      const err = await read(uri.replace(/\/0$/, `/${bad}`)).catch((e: Error) => e);
      expect(String(err), bad).toMatch(/index must be a whole number/);
    }
  });
});

describe('3. reads have a deadline and refuse what is not a regular file before blocking', () => {
  it('an output replaced by a FIFO is refused at once, four times over, and the server still answers', async () => {
    execFileSync('mkfifo', [join(out, 'e.png')]);
    const uri = await record(6, join(out, 'e.png'));
    const t0 = Date.now();
    const errs = await Promise.all([1, 2, 3, 4].map(() => read(uri).catch((e: Error) => e)));
    rmSync(join(out, 'e.png'));
    for (const e of errs) expect(String(e)).toMatch(/not a regular file/);
    // A read that blocked on the FIFO would end only at its 30 s deadline; the bound is wide for a busy machine.
    expect(Date.now() - t0).toBeLessThan(5000);
    await client.ping();
  });

  it('a read that outlives its deadline ends with a timeout', async () => {
    writeFileSync(join(out, 'slow.png'), PNG);
    const err = await readRegularFileWithin(join(out, 'slow.png'), [out], { maxBytes: 1000, timeoutMs: 0 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnsafeFileError);
    expect((err as UnsafeFileError).reason).toBe('timeout');
  });
});

describe('2. local inputs: opened once, the descriptor checked', () => {
  it('a folder flipped between a real directory and a link outside never yields the outside file', async () => {
    const secret = Buffer.concat([PNG, Buffer.from('OUTSIDE')]);
    mkdirSync(join(outside, 'flip'));
    writeFileSync(join(outside, 'flip', 'in.png'), secret);
    const flip = join(out, 'flip');
    const parked = join(out, 'parked');
    mkdirSync(flip);
    writeFileSync(join(flip, 'in.png'), PNG);
    // Another process flips the folder as fast as it can, as an attacker on the same machine would.
    const flipper = spawn(process.execPath, ['-e', FLIPPER, flip, parked, join(outside, 'flip')], { stdio: 'ignore' });
    let leaked = 0;
    let tries = 0;
    try {
      for (const t0 = Date.now(); Date.now() - t0 < 1500 && leaked === 0; tries++) {
        const m = await readLocalMedia(join(flip, 'in.png'), [out], 1_000_000, 'path').catch(() => undefined);
        if (m && m.bytes.includes(Buffer.from('OUTSIDE'))) leaked++;
      }
    } finally {
      flipper.kill();
    }
    expect(tries).toBeGreaterThan(50);
    expect(leaked).toBe(0);
  });

  it('a local input that is a FIFO is refused at once, naming the field', async () => {
    execFileSync('mkfifo', [join(out, 'in.fifo.png')]);
    const err = await readLocalMedia(join(out, 'in.fifo.png'), [out], 1_000_000, 'params.seedImage').catch(
      (e: Error) => e,
    );
    rmSync(join(out, 'in.fifo.png'));
    expect(String(err)).toMatch(/params\.seedImage: .*not a regular file/);
  });
});
