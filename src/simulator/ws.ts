/**
 * The simulator's WebSocket endpoint (RFC 6455, text frames only, no
 * extensions): connect-time authentication with connectionSessionUUID, ping,
 * results delivered one frame per item, and undelivered frames buffered for a
 * session that reconnects (resume), as the reference describes.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RunwareSim } from './runware.js';
import type { SimState } from './state.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

interface Session {
  uuid: string;
  socket: Duplex | undefined;
  buffer: string[];
  /** When the socket went away; the buffer is kept for the resume window after that. */
  leftAt?: number;
}

/** Undelivered results are kept this long after a drop (reference: 120 s). */
const RESUME_WINDOW_MS = 120_000;

/** Encodes a server frame (never masked). */
export function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head =
    len < 126
      ? Buffer.from([0x80 | opcode, len])
      : len < 65536
        ? Buffer.from([0x80 | opcode, 126, len >> 8, len & 0xff])
        : Buffer.concat([
            Buffer.from([0x80 | opcode, 127]),
            (() => {
              const b = Buffer.alloc(8);
              b.writeBigUInt64BE(BigInt(len));
              return b;
            })(),
          ]);
  return Buffer.concat([head, payload]);
}

/** Splits complete client frames off `buf`; returns the frames and the unconsumed rest. */
export function decodeFrames(buf: Buffer): {
  frames: Array<{ fin: boolean; opcode: number; payload: Buffer }>;
  rest: Buffer;
} {
  const frames: Array<{ fin: boolean; opcode: number; payload: Buffer }> = [];
  let off = 0;
  for (;;) {
    if (buf.length - off < 2) break;
    const b0 = buf[off]!;
    const b1 = buf[off + 1]!;
    let len = b1 & 0x7f;
    let pos = off + 2;
    if (len === 126) {
      if (buf.length < pos + 2) break;
      len = buf.readUInt16BE(pos);
      pos += 2;
    } else if (len === 127) {
      if (buf.length < pos + 8) break;
      len = Number(buf.readBigUInt64BE(pos));
      pos += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    const maskLen = masked ? 4 : 0;
    if (buf.length < pos + maskLen + len) break;
    const mask = masked ? buf.subarray(pos, pos + 4) : undefined;
    pos += maskLen;
    const payload = Buffer.from(buf.subarray(pos, pos + len));
    if (mask) for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ mask[i % 4]!;
    frames.push({ fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, payload });
    off = pos + len;
  }
  return { frames, rest: buf.subarray(off) };
}

export class WsEndpoint {
  private readonly sessions = new Map<string, Session>();
  private readonly sockets = new Set<Duplex>();
  /** Sockets hit by a 'silence' fault: read, never answered again (a dead connection that stays open). */
  private readonly silent = new WeakSet<Duplex>();

  constructor(
    private readonly state: SimState,
    private readonly runware: RunwareSim,
  ) {}

  /** Handles an HTTP upgrade on /v1. */
  upgrade(req: IncomingMessage, socket: Duplex): void {
    const key = req.headers['sec-websocket-key'];
    if (typeof key !== 'string' || req.headers.upgrade?.toLowerCase() !== 'websocket') {
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    const accept = createHash('sha1')
      .update(key + GUID)
      .digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    this.sockets.add(socket);
    const headers = { ...req.headers };
    let session: Session | undefined;
    let buf: Buffer = Buffer.alloc(0);
    let fragments: Buffer[] = [];
    // Results follow their session: to its current socket, or into its buffer while it has none.
    const sendText = (obj: unknown): void => {
      const text = JSON.stringify(obj);
      const target = session ? session.socket : socket;
      if (!target || target.destroyed) {
        session?.buffer.push(text);
        return;
      }
      if (this.silent.has(target)) return;
      target.write(encodeFrame(1, Buffer.from(text)));
    };
    socket.on('data', (chunk: Buffer) => {
      const r = decodeFrames(Buffer.concat([buf, chunk]));
      buf = r.rest;
      for (const f of r.frames) {
        if (f.opcode === 8) {
          socket.end(encodeFrame(8, Buffer.alloc(0)));
          continue;
        }
        if (f.opcode === 9) {
          if (!this.silent.has(socket)) socket.write(encodeFrame(10, f.payload));
          continue;
        }
        if (f.opcode !== 1 && f.opcode !== 0) continue;
        fragments.push(f.payload);
        if (!f.fin) continue;
        const text = Buffer.concat(fragments).toString('utf8');
        fragments = [];
        void this.message(
          text,
          headers,
          socket,
          () => session,
          (s) => (session = s),
          sendText,
        ).catch(() => socket.destroy());
      }
    });
    const detach = (): void => {
      this.sockets.delete(socket);
      if (session && session.socket === socket) {
        session.socket = undefined;
        session.leftAt = Date.now();
      }
    };
    socket.on('close', detach);
    socket.on('error', detach);
  }

  private async message(
    text: string,
    headers: Record<string, unknown>,
    socket: Duplex,
    getSession: () => Session | undefined,
    setSession: (s: Session) => void,
    send: (obj: unknown) => void,
  ): Promise<void> {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    const entry = this.state.record({
      surface: 'runware',
      method: 'WS',
      path: '/v1',
      headers: headers as Record<string, string>,
      body,
    });
    const tasks = Array.isArray(body) ? (body as Array<Record<string, unknown>>) : [];
    const session = getSession();
    if (!session) {
      const auth = tasks[0];
      if (auth?.taskType !== 'authentication') {
        send({
          errors: [
            {
              code: 'missingApiKey',
              message: 'Authenticate first: send an authentication task.',
              parameter: 'apiKey',
              taskType: 'authentication',
            },
          ],
        });
        socket.end(encodeFrame(8, Buffer.alloc(0)));
        return;
      }
      const bad = this.runware.authenticate(undefined, [auth]);
      if (bad) {
        send({ errors: [bad] });
        socket.end(encodeFrame(8, Buffer.alloc(0)));
        return;
      }
      const resumeId = typeof auth.connectionSessionUUID === 'string' ? auth.connectionSessionUUID : undefined;
      let resumed = resumeId ? this.sessions.get(resumeId) : undefined;
      if (resumed?.leftAt !== undefined && Date.now() - resumed.leftAt > this.state.scaled(RESUME_WINDOW_MS)) {
        this.sessions.delete(resumed.uuid);
        resumed = undefined;
      }
      if (resumeId && !resumed && this.state.options.staleSession === 'refused') {
        send({
          errors: [
            {
              code: 'invalidConnectionSessionUUID',
              message: 'The session to resume is unknown or has expired.',
              parameter: 'connectionSessionUUID',
              taskType: 'authentication',
            },
          ],
        });
        return;
      }
      const s: Session = resumed ?? { uuid: randomUUID(), socket, buffer: [] };
      s.socket = socket;
      delete s.leftAt;
      this.sessions.set(s.uuid, s);
      setSession(s);
      send({ data: [{ taskType: 'authentication', connectionSessionUUID: s.uuid }] });
      // Results that were ready while the client was away, if this API replays them.
      const pending = s.buffer.splice(0);
      if (this.state.options.wsResumeReplays) for (const p of pending) socket.write(encodeFrame(1, Buffer.from(p)));
      return;
    }
    if (tasks.length === 1 && tasks[0]?.taskType === 'ping' && tasks[0]?.taskUUID === undefined) {
      send({ data: [{ taskType: 'ping', pong: true }] });
      return;
    }
    const fault = this.state.takeFault(
      'runware',
      tasks.map((t) => String(t?.taskType)),
    );
    if (fault) entry.fault = fault.kind;
    if (fault?.kind === 'reset') {
      socket.destroy();
      return;
    }
    if (!Array.isArray(body)) {
      send({ errors: [{ code: 'invalidRequestBody', message: 'Send a JSON array of tasks.' }] });
      return;
    }
    if (tasks.some((t) => t?.taskType === 'authentication')) {
      send({
        errors: [
          {
            code: 'alreadyAuthenticated',
            message: 'This connection is already authenticated.',
            taskType: 'authentication',
          },
        ],
      });
      return;
    }
    if (fault?.kind === 'silence') this.silent.add(socket);
    // Load, counted as over REST: held, and in flight until answered.
    const st = this.state;
    st.inFlight++;
    st.maxInFlight = Math.max(st.maxInFlight, st.inFlight);
    let out: Awaited<ReturnType<RunwareSim['handle']>>;
    try {
      if (st.holdMs > 0) await new Promise((r) => setTimeout(r, st.holdMs));
      // Results sent ahead of held ones go one frame each (with one frame per task, they wait with the rest).
      const early =
        !fault && this.state.options.wsFraming === 'perItem'
          ? (items: Array<Record<string, unknown>>) => {
              for (const d of items) send({ data: [d] });
            }
          : undefined;
      out = await this.runware.handle(tasks, fault, fault?.kind === 'latency' ? (fault.ms ?? 200) : 0, early);
    } finally {
      st.inFlight--;
    }
    const frames = this.frames(tasks, out);
    if (fault?.kind === 'resetAfterAccept' || fault?.kind === 'wsDrop') {
      // The tasks ran; their results wait in the session buffer for a resume (or are lost beyond the window).
      const s = getSession();
      socket.destroy();
      if (s) {
        for (const f of frames) s.buffer.push(JSON.stringify(f));
        if (fault.kind === 'wsDrop' && fault.resume === 'beyond') {
          s.buffer.length = 0;
          this.sessions.delete(s.uuid);
        }
      }
      return;
    }
    if (fault?.kind === 'interleave') frames.reverse();
    for (const f of frames) {
      send(f);
      if (fault?.kind === 'duplicateFrames') send(f);
    }
  }

  /** The frames answering one message: errors, then reads in one frame each, then results per item or per task. */
  private frames(
    tasks: Array<Record<string, unknown>>,
    out: { data: Array<Record<string, unknown>>; errors: unknown[] },
  ): unknown[] {
    // Hostile: junk that names no task arrives before every real answer.
    const frames: unknown[] = this.state.options.hostile
      ? [{ data: [null] }, { data: [{ taskType: 'imageInference' }] }, { errors: [null] }]
      : [];
    if (out.errors.length) frames.push({ errors: out.errors });
    const reads = tasks
      .filter((t) => t.taskType === 'getResponse' || t.taskType === 'getTaskDetails')
      .map((t) => t.taskUUID);
    const readItems = out.data.filter((d) => reads.includes(d.taskUUID as string));
    // A read answers in one frame, even when empty (an empty frame names no task).
    for (const u of reads) {
      const erred = (out.errors as Array<{ taskUUID?: unknown }>).some((e) => e.taskUUID === u);
      if (!erred) frames.push({ data: readItems.filter((d) => d.taskUUID === u) });
    }
    const rest = out.data.filter((d) => !readItems.includes(d));
    if (this.state.options.wsFraming === 'oneFrame') {
      const byTask = new Map<unknown, Array<Record<string, unknown>>>();
      for (const d of rest) byTask.set(d.taskUUID, [...(byTask.get(d.taskUUID) ?? []), d]);
      for (const items of byTask.values()) frames.push({ data: items });
    } else for (const d of rest) frames.push({ data: [d] });
    if (this.state.options.hostile)
      frames.push(
        { data: [null] },
        { errors: [null] },
        { error: [null] },
        { data: [] },
        { errors: [{ code: 'unknownError', message: 'names no task' }] },
      );
    return frames;
  }

  closeAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
}
