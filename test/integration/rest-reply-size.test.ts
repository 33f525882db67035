// An answer past the reply limit is not read whole (a hostile or broken upstream cannot fill the memory):
// the transport stops at the limit and says the tasks' fate is unknown, so the landing check settles it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestTransport } from '../../src/runware/rest.js';
import { NetworkError } from '../../src/shared/errors.js';

let server: Server;
let url: string;
let written = 0;
const LIMIT = 1024 * 1024;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/small') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: [] }));
        return;
      }
      // A never-ending answer, without a length: only the reader's own count can stop it.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data":[{"taskType":"imageInference","imageBase64Data":"');
      const chunk = Buffer.alloc(64 * 1024, 'A');
      const pump = (): void => {
        while (!res.destroyed && written < 64 * LIMIT) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => undefined);
      pump();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('the REST reply limit', () => {
  it('stops reading past the limit and reports the fate as unknown (sent), not a parse error or a hang', async () => {
    const t = new RestTransport({ url: `${url}/big`, apiKey: 'k'.repeat(20), userAgent: 't', maxReplyBytes: LIMIT });
    const task = { taskType: 'imageInference', taskUUID: '0b9f8d5e-3c1a-4b7e-9f2d-1a2b3c4d5e6f' };
    const err = await t.send([task], { timeoutMs: 20_000 }).catch((e: unknown) => e);
    await t.close();
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).causeCode).toBe('TOO_LARGE');
    expect((err as NetworkError).sent).toBe(true);
    expect((err as Error).message).toMatch(/over 1 MiB/);
    // Read no further than the limit and what was in flight: far less than the 64 MiB the server would send.
    expect(written).toBeLessThan(16 * LIMIT);
  });

  it('an answer under the limit is read as before', async () => {
    const t = new RestTransport({ url: `${url}/small`, apiKey: 'k'.repeat(20), userAgent: 't', maxReplyBytes: LIMIT });
    const reply = await t.send([], { timeoutMs: 5000 });
    await t.close();
    expect(reply).toMatchObject({ status: 200, body: { data: [] } });
  });
});
