/**
 * A real redis-server for the tests, started on a free loopback port and
 * stopped after. Where Debian's redis-server is not installed the tests that
 * need it are skipped, and say so loudly on stderr: never a silent pass.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REDIS_BIN = process.env.REDIS_SERVER ?? 'redis-server';
export const haveRedis = spawnSync(REDIS_BIN, ['--version'], { stdio: 'ignore' }).status === 0;

/** Call at the top of a file that needs Redis: prints the SKIPPED line when it cannot be had. */
export function requireRedis(what: string): boolean {
  if (!haveRedis)
    process.stderr.write(
      `\nSKIPPED: ${what}: redis-server is not installed (apt-get install redis-server, or set REDIS_SERVER)\n\n`,
    );
  return haveRedis;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RedisHandle {
  url: string;
  port: number;
  /** Stops the server (SIGTERM, waited for). Its data stays on disk (append-only file). */
  stop(): Promise<void>;
  /** Starts it again on the same port, with the same data. */
  start(): Promise<void>;
}

/** A redis-server with persistence (as a deployment should run it), on a free port. */
export async function startRedis(): Promise<RedisHandle> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'rw-redis-'));
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const c = spawn(
      REDIS_BIN,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--protected-mode',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = c;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
      c.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (/Ready to accept connections/.test(out)) {
          clearTimeout(t);
          resolve();
        }
      });
      c.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`redis-server exited (${code}): ${out}`));
      });
    });
    c.removeAllListeners('exit');
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, stop, start };
}
