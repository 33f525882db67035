/**
 * The built-in simulator: a loopback HTTP server that speaks the Runware REST
 * API, the three Runway task APIs, hosts media, injects faults, and keeps a
 * request log that tests (in-process or via /__sim/log) use to prove what was sent.
 *
 * It imports nothing from the client: it is an independent implementation of
 * the server side, so it can catch the client's mistakes.
 */
import { simPrice } from './pricing.js';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EXT, MIME, renderImage, type SimFormat } from './images.js';
import { FILE_EXT, keyInOddSpellings, renderFile, RunwareSim, type SimFileFormat } from './runware.js';
import { RunwaySim, type RunwayProvider, type Scenario } from './runway.js';
import { contentAnswer } from './content.js';
import { hostileSchema, registryBody, resolveBody, schemaFor } from './schemas.js';
import { PESSIMISTIC, SimState, type Fault, type SimOptions, type Surface } from './state.js';
import { WsEndpoint } from './ws.js';

export interface SimulatorStartOptions extends Partial<SimOptions> {
  port?: number;
  host?: string;
  credentials?: Partial<SimState['credentials']>;
}

export interface SimulatorInfo {
  url: string;
  runwareUrl: string;
  wsUrl: string;
  runwayUrl: string;
  useapiUrl: string;
  makevidUrl: string;
  schemasUrl: string;
  contentUrl: string;
  controlUrl: string;
  apiKey: string;
  runwaySecret: string;
  useapiToken: string;
  makevidKey: string;
}

const MAX_BODY = 32 * 1024 * 1024;

/** The simulator options among the start options (credentials, port and host are not options). */
function stripUndefined(opts: SimulatorStartOptions): Partial<SimOptions> {
  const { port: _p, host: _h, credentials: _c, ...rest } = opts;
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as Partial<SimOptions>;
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
};

const HTTP_FAULT_STATUS: Partial<Record<Fault['kind'], number>> = {
  http429: 429,
  http500: 500,
  http503: 503,
  http504: 504,
  http596: 596,
  http401: 401,
  http404: 404,
  http410: 410,
  http412: 412,
  http422: 422,
};

export class Simulator {
  readonly state: SimState;
  readonly runware: RunwareSim;
  readonly runway: RunwaySim;
  private readonly ws: WsEndpoint;
  private server: Server | undefined;
  private base = '';

  constructor(opts: SimulatorStartOptions = {}) {
    this.state = new SimState(
      { ...PESSIMISTIC, timeScale: 1, ...stripUndefined(opts) },
      { ...SimState.newCredentials(), ...opts.credentials },
    );
    this.runware = new RunwareSim(this.state, () => this.base);
    this.runway = new RunwaySim(this.state, () => this.base);
    this.ws = new WsEndpoint(this.state, this.runware);
  }

  async start(port = 0, host = '127.0.0.1'): Promise<SimulatorInfo> {
    this.server = createServer((req, res) => {
      this.route(req, res).catch((e: unknown) => {
        if (!res.headersSent)
          json(res, 500, { errors: [{ code: 'internalServerError', message: String((e as Error).message) }] });
        else res.destroy();
      });
    });
    this.server.keepAliveTimeout = 5000;
    this.server.on('upgrade', (req, socket) => {
      if ((req.url ?? '').split('?')[0]!.replace(/\/$/, '') === '/v1') this.ws.upgrade(req, socket);
      else socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    const addr = this.server.address() as AddressInfo;
    this.base = `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`;
    this.runway.seedExamples();
    return this.info;
  }

  get info(): SimulatorInfo {
    const c = this.state.credentials;
    return {
      url: this.base,
      runwareUrl: `${this.base}/v1`,
      wsUrl: `${this.base.replace(/^http/, 'ws')}/v1`,
      runwayUrl: `${this.base}/runway`,
      useapiUrl: `${this.base}/useapi/v1`,
      makevidUrl: `${this.base}/makevid/api/v1`,
      schemasUrl: `${this.base}/schemas`,
      contentUrl: `${this.base}/content`,
      controlUrl: `${this.base}/__sim`,
      apiKey: c.apiKey,
      runwaySecret: c.runwaySecret,
      useapiToken: c.useapiToken,
      makevidKey: c.makevidKey,
    };
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.ws.closeAll();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  addFaults(...f: Fault[]): void {
    this.state.addFaults(...f);
  }

  /** Runware requests as received (parsed bodies and headers). */
  runwareRequests(): SimState['log'] {
    return this.state.log.filter((e) => e.surface === 'runware');
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.base);
    const path = url.pathname;
    if (path.startsWith('/__sim')) return this.control(req, res, path);
    if (path.startsWith('/media/')) return this.mediaRoute(req, res, path);
    if (path === '/v1' || path === '/v1/') return this.runwareRoute(req, res);
    if (path.startsWith('/schemas/')) return this.catalogRoute(req, res, 'schemas', path.slice('/schemas/'.length));
    if (path.startsWith('/content/'))
      return this.catalogRoute(req, res, 'content', path.slice('/content/'.length), url.searchParams);
    if (path.startsWith('/runway/v1/tasks/'))
      return this.runwayRoute(req, res, 'runway', (req.url ?? '').split('?')[0]!.slice('/runway/v1/tasks/'.length));
    if (path.startsWith('/useapi/v1/runwayml/'))
      return this.useapiRoute(req, res, (req.url ?? '').split('?')[0]!.slice('/useapi/v1/runwayml/'.length));
    if (path.startsWith('/makevid/api/v1/get_runway/'))
      return this.runwayRoute(
        req,
        res,
        'makevid',
        (req.url ?? '').split('?')[0]!.slice('/makevid/api/v1/get_runway/'.length),
      );
    json(res, 404, { error: 'Not found.' });
  }

  private async runwareRoute(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const st = this.state;
    st.inFlight++;
    st.maxInFlight = Math.max(st.maxInFlight, st.inFlight);
    try {
      if (st.holdMs > 0) await new Promise((r) => setTimeout(r, st.holdMs));
      await this.runwareAnswer(req, res);
    } finally {
      st.inFlight--;
    }
  }

  private async runwareAnswer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = req.method === 'POST' ? await readBody(req) : '';
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const entry = this.state.record({
      surface: 'runware',
      method: req.method ?? '',
      path: '/v1',
      headers: { ...req.headers },
      body,
    });
    const tasks = Array.isArray(body) ? (body as Array<Record<string, unknown>>) : [];
    const fault = this.state.takeFault(
      'runware',
      tasks.map((t) => String(t?.taskType)),
    );
    if (fault) entry.fault = fault.kind;
    const answer = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
      entry.status = status;
      json(res, status, payload, headers);
    };
    // Faults in front of the API: nothing ran.
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    const status = fault ? HTTP_FAULT_STATUS[fault.kind] : undefined;
    if (status) {
      const headers: Record<string, string> =
        status === 429 && this.state.options.retryAfter ? { 'retry-after': String(fault!.retryAfter ?? 1) } : {};
      answer(
        status,
        {
          errors: [
            {
              code: status === 429 ? 'rateLimitExceeded' : status === 504 ? 'gatewayTimeout' : 'serviceUnavailable',
              message: `Simulated HTTP ${status}; the request was not processed.`,
            },
          ],
        },
        headers,
      );
      return;
    }
    if (fault?.kind === 'proxy' && fault.when === 'before') return this.proxyAnswer(res, entry, fault);
    if (req.method !== 'POST') return answer(405, { errors: [{ code: 'methodNotAllowed', message: 'Use POST.' }] });
    if (!Array.isArray(body))
      return answer(400, {
        errors: [{ code: 'invalidRequestBody', message: 'The body must be a JSON array of tasks.' }],
      });
    const authError = this.runware.authenticate(req.headers.authorization, tasks);
    if (authError) return answer(401, { errors: [authError] });
    const dry = req.headers['x-runware-dry-run'] === '1' ? this.state.options.dryRun : 'ignored';
    if (dry !== 'ignored') {
      // Validated and (maybe) priced, not run: nothing is accepted or billed.
      const price = (t: Record<string, unknown>): Record<string, unknown> =>
        dry === 'priced'
          ? { cost: simPrice(t, this.state.prices.get(String(t.model))), dryRun: true }
          : { dryRun: true };
      return answer(200, {
        data: tasks
          .filter((t) => t && t.taskType !== 'authentication')
          .map((t) => ({ taskType: t.taskType, taskUUID: t.taskUUID, ...price(t) })),
      });
    }
    if (this.runware.readUnknownIs404(tasks))
      return answer(404, {
        errors: [
          {
            code: 'taskNotFound',
            message: 'No such task.',
            taskUUID: tasks[0]!.taskUUID,
            taskType: tasks[0]!.taskType,
          },
        ],
      });
    const out = await this.runware.handle(tasks, fault, fault?.kind === 'latency' ? (fault.ms ?? 200) : 0);
    if (fault?.kind === 'resetAfterAccept') {
      // The tasks ran; the client never hears about it.
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'malformed') {
      // A truncated body, after the tasks ran.
      entry.status = 200;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out).slice(0, 25));
      return;
    }
    if (fault?.kind === 'proxy') return this.proxyAnswer(res, entry, fault);
    const outBody = this.state.options.hostile
      ? this.hostile(out)
      : out.errors.length
        ? { data: out.data, errors: out.errors }
        : { data: out.data };
    answer(out.data.length === 0 && out.errors.length > 0 ? 400 : 200, outBody);
  }

  /** A proxy's answer: its status, with Runware's body, no body, or an HTML page. */
  private proxyAnswer(res: ServerResponse, entry: { status?: number }, fault: Fault): void {
    const status = fault.status ?? 502;
    entry.status = status;
    if (fault.body === 'runware') {
      json(res, status, {
        errors: [{ code: 'serviceUnavailable', message: `Simulated HTTP ${status}; the request was not processed.` }],
      });
      return;
    }
    const html = fault.body === 'html' ? `<html><body><h1>${status} Bad Gateway</h1></body></html>` : '';
    res.writeHead(status, {
      'content-type': fault.body === 'html' ? 'text/html' : 'text/plain',
      'content-length': Buffer.byteLength(html),
    });
    res.end(html);
  }

  /** Hostile mode: the same answer, with null items, traversal names and the key echoed in an error. */
  private hostile(out: { data: Array<Record<string, unknown>>; errors: unknown[] }): unknown {
    const key = this.state.credentials.apiKey;
    // Names a client might build a file name from: one that climbs out of its folder, one that is the key.
    let n = 0;
    const data = out.data.map((d) => {
      if (typeof d.imageUUID !== 'string') return d;
      const i = n++;
      // A third reads as "...gpj.exe" reversed on screen: a right-to-left override and isolates in the name.
      return i === 0
        ? { ...d, imageUUID: `x/../../../outside/pwned-${d.imageUUID}` }
        : i === 1
          ? { ...d, imageUUID: key }
          : i === 2
            ? { ...d, imageUUID: `invoice\u202Egpj\u2066.exe\u2069\u200E-${d.imageUUID}` }
            : d;
    });
    const echoed = `upstream said: key ${key}, ${key.toUpperCase()}, ${Buffer.from(key).toString('base64')}; session eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9.c2lnbmF0dXJl password=hunter22`;
    const errors = [
      { code: 'unknownError', message: echoed },
      { code: 'unknownError', message: keyInOddSpellings(key), [key]: key.slice(2) },
    ];
    return { data: [null, ...data], errors: [null, ...out.errors, ...errors] };
  }

  /**
   * The public schema and content services: no auth, Cache-Control and
   * ETag on every answer, 304 for a matching If-None-Match.
   */
  private catalogRoute(
    req: IncomingMessage,
    res: ServerResponse,
    surface: 'schemas' | 'content',
    rest: string,
    query = new URLSearchParams(),
  ): void {
    const entry = this.state.record({
      surface,
      method: req.method ?? '',
      path: `/${surface}/${rest}${query.size ? `?${query.toString()}` : ''}`,
      headers: { ...req.headers },
      body: undefined,
    });
    const fault = this.state.takeFault(surface);
    if (this.state.options.catalogDown || fault) {
      entry.status = fault?.status ?? 503;
      if (fault) entry.fault = fault.kind;
      return json(res, entry.status, { error: 'Service unavailable.' });
    }
    const answer = (status: number, body: unknown, maxAge = 300): void => {
      entry.status = status;
      if (status !== 200) return json(res, status, body);
      const text = JSON.stringify(body);
      const etag = `"${createHash('sha256').update(text).digest('hex').slice(0, 16)}"`;
      const headers = { etag, 'cache-control': `public, max-age=${maxAge}` };
      if (req.headers['if-none-match'] === etag) {
        entry.status = 304;
        res.writeHead(304, headers).end();
        return;
      }
      json(res, 200, body, headers);
    };
    const id = decodeURIComponent(rest.replace(/^resolve\/|^models\/|\/pricing$/g, ''));
    if (surface === 'schemas' && rest === 'registry.json') return answer(200, registryBody());
    if (surface === 'schemas' && rest.startsWith('resolve/')) {
      const e = schemaFor(id);
      const kind = this.state.options.hostile ? this.state.options.hostileSchema : 'none';
      if (e && kind !== 'none')
        return answer(200, hostileSchema(resolveBody(e), kind), kind === 'poisoned' ? 999_999_999 : 300);
      return e ? answer(200, resolveBody(e)) : answer(404, { error: `No schema found for model: ${id}` });
    }
    if (surface === 'content') {
      const a = contentAnswer(rest, query);
      return answer(a.status, a.body);
    }
    answer(404, { error: 'Not found.' });
  }

  private runwayAuth(req: IncomingMessage, provider: Surface): boolean {
    const c = this.state.credentials;
    const want = provider === 'runway' ? c.runwaySecret : provider === 'useapi' ? c.useapiToken : c.makevidKey;
    return req.headers.authorization === `Bearer ${want}`;
  }

  /** Applies an injected HTTP fault for a Runway surface; true when it answered. */
  private runwayFault(
    res: ServerResponse,
    provider: Surface,
    entry: { status?: number; fault?: Fault['kind'] },
  ): boolean {
    const fault = this.state.takeFault(provider);
    if (!fault) return false;
    entry.fault = fault.kind;
    if (fault.kind === 'proxy') {
      // Something in front of the API answering with a page, even with a 2xx.
      entry.status = fault.status ?? 502;
      res.writeHead(entry.status, { 'content-type': 'text/html' });
      res.end('<html><body>Please sign in to the network</body></html>');
      return true;
    }
    const status = HTTP_FAULT_STATUS[fault.kind] ?? 500;
    entry.status = status;
    const messages: Record<number, string> = {
      401: 'Unauthorized.',
      404: 'Not found.',
      410: 'Task expired.',
      412: 'Insufficient credits.',
      422: 'Prompt moderated.',
      429: 'Too many requests.',
      500: 'Internal error.',
      503: 'Service unavailable.',
      504: 'Gateway timeout.',
      596: 'Account creator@example.com session is broken; please delete and re-add the account.',
    };
    const headers: Record<string, string> = status === 429 ? { 'retry-after': String(fault.retryAfter ?? 1) } : {};
    json(
      res,
      status,
      provider === 'useapi' ? { error: messages[status], code: status } : { error: messages[status] },
      headers,
    );
    return true;
  }

  private async runwayRoute(
    req: IncomingMessage,
    res: ServerResponse,
    provider: RunwayProvider,
    rawId: string,
  ): Promise<void> {
    const entry = this.state.record({
      surface: provider,
      method: req.method ?? '',
      path: req.url ?? '',
      headers: { ...req.headers },
      body: undefined,
    });
    if (!this.runwayAuth(req, provider)) {
      entry.status = 401;
      json(res, 401, { error: 'Unauthorized.' });
      return;
    }
    if (provider === 'runway' && req.headers['x-runway-version'] !== '2024-11-06') {
      entry.status = 400;
      json(res, 400, { error: 'X-Runway-Version header is required (2024-11-06).' });
      return;
    }
    if (this.runwayFault(res, provider, entry)) return;
    const id = decodeURIComponent(rawId);
    const task = this.runway.find(id, provider);
    if (!task) {
      entry.status = 404;
      json(res, 404, { error: provider === 'runway' ? 'Task not found' : 'Not found.' });
      return;
    }
    entry.status = 200;
    json(res, 200, provider === 'runway' ? this.runway.official(task) : { task: this.runway.webApp(task, 'makevid') });
  }

  private async useapiRoute(req: IncomingMessage, res: ServerResponse, rest: string): Promise<void> {
    const entry = this.state.record({
      surface: 'useapi',
      method: req.method ?? '',
      path: req.url ?? '',
      headers: { ...req.headers },
      body: undefined,
    });
    if (!this.runwayAuth(req, 'useapi')) {
      entry.status = 401;
      json(res, 401, { error: 'Unauthorized.', code: 401 });
      return;
    }
    if (this.runwayFault(res, 'useapi', entry)) return;
    if (rest === 'accounts' || rest === 'accounts/') {
      entry.status = 200;
      const out: Record<string, unknown> = {};
      for (const a of this.runway.accounts.values()) {
        out[a.email] = {
          email: a.email,
          password: a.password,
          maxJobs: a.maxJobs,
          jwt: {
            token: a.jwtToken,
            exp: Math.floor(Date.now() / 1000) + 86400,
            iat: Math.floor(Date.now() / 1000),
            id: 1234567,
          },
        };
      }
      json(res, 200, out);
      return;
    }
    if (rest.startsWith('tasks/')) {
      const id = rest.slice('tasks/'.length);
      // useapi ids are sent raw (':' and '@' unencoded); accept the encoded form too.
      const m = /-task:([0-9a-f-]{36})$/.exec(decodeURIComponent(id));
      const task = m ? this.runway.find(m[1]!, 'useapi') : undefined;
      if (!task) {
        entry.status = 404;
        json(res, 404, { error: 'Not found.', code: 404 });
        return;
      }
      entry.status = 200;
      json(res, 200, this.runway.webApp(task, 'useapi'));
      return;
    }
    entry.status = 404;
    json(res, 404, { error: 'Not found.', code: 404 });
  }

  private mediaRoute(req: IncomingMessage, res: ServerResponse, path: string): void {
    this.state.record({ surface: 'media', method: req.method ?? '', path, headers: {}, body: undefined });
    const file = path.slice('/media/'.length);
    if (file.startsWith('runway/')) {
      // A minimal ISO-BMFF header: enough to be recognised as MP4.
      const ftyp = Buffer.from([
        0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 0, 0, 2, 0, 0x69, 0x73, 0x6f, 0x6d, 0x6d, 0x70,
        0x34, 0x31,
      ]);
      res.writeHead(200, {
        'content-type': file.endsWith('.jpg') ? 'image/jpeg' : 'video/mp4',
        'content-length': ftyp.length,
      });
      res.end(ftyp);
      return;
    }
    if (file.startsWith('hero-')) {
      const img = renderImage('JPG', 256, 256, file.length);
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': img.length });
      res.end(img);
      return;
    }
    const id = file.replace(/\.[a-z0-9]+$/, '');
    const m = this.runware.media.get(id);
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    if (m.bytes) {
      res.writeHead(200, { 'content-type': m.mime ?? 'application/octet-stream', 'content-length': m.bytes.length });
      res.end(m.bytes);
      return;
    }
    if (m.format in FILE_EXT) {
      const f = FILE_EXT[m.format as SimFileFormat];
      if (!file.endsWith(`.${f.ext}`)) {
        res.writeHead(404).end();
        return;
      }
      const bytes = renderFile(m.format as SimFileFormat);
      res.writeHead(200, { 'content-type': f.mime, 'content-length': bytes.length });
      res.end(bytes);
      return;
    }
    const fmt = m.format as SimFormat;
    if (!file.endsWith(`.${EXT[fmt]}`)) {
      res.writeHead(404).end();
      return;
    }
    const img = renderImage(fmt, m.width, m.height, m.seed);
    res.writeHead(200, { 'content-type': MIME[fmt], 'content-length': img.length });
    if (this.state.mediaHeld) {
      // Held (SimState.hold): half the body now, the rest once released, so a download is caught in flight.
      const half = Math.floor(img.length / 2);
      res.write(img.subarray(0, half));
      void this.state.released().then(() => res.end(img.subarray(half)));
      return;
    }
    res.end(img);
  }

  private async control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const body = req.method === 'POST' ? await readBody(req) : '';
    const data = body ? (JSON.parse(body) as Record<string, unknown>) : {};
    switch (`${req.method} ${path}`) {
      case 'GET /__sim/log':
        return json(res, 200, { requests: this.state.log, accepted: Object.fromEntries(this.state.accepted) });
      case 'POST /__sim/faults':
        this.state.addFaults(...((Array.isArray(data) ? data : [data]) as Fault[]));
        return json(res, 200, { pending: this.state.pendingFaults });
      case 'POST /__sim/reset':
        this.state.reset();
        return json(res, 200, { ok: true });
      case 'POST /__sim/options':
        Object.assign(this.state.options, data);
        return json(res, 200, this.state.options);
      case 'POST /__sim/runway/tasks': {
        const id = this.runway.create(
          (data.provider as RunwayProvider) ?? 'runway',
          (data.scenario as Scenario) ?? 'success',
          Number(data.durationMs ?? 12_000),
          (data.email as string) ?? 'creator@example.com',
          typeof data.clockAt === 'number' ? data.clockAt : undefined,
        );
        return json(res, 200, { id });
      }
      case 'POST /__sim/runway/clock':
        return this.runway.setClock(String(data.id), typeof data.at === 'number' ? data.at : undefined)
          ? json(res, 200, { ok: true })
          : json(res, 404, { error: 'no such Runway task' });
      case 'POST /__sim/runway/accounts':
        this.runway.addAccount({
          email: String(data.email),
          password: String(data.password),
          maxJobs: Number(data.maxJobs ?? 5),
          jwtToken: String(data.jwtToken),
        });
        return json(res, 200, { ok: true });
      default:
        return json(res, 404, { error: 'unknown control endpoint' });
    }
  }
}

export type { Fault } from './state.js';
