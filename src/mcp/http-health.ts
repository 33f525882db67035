/**
 * GET /healthz, for load balancers: up or degraded (the shared store does not
 * answer), this instance's id, its session count and mode. Served without the
 * token: it tells nothing but up or down.
 */
import type { ServerResponse } from 'node:http';
import type { SharedSessions } from '../state/sessions.js';

export interface HealthSource {
  instanceId: string;
  stateless: boolean;
  shared: SharedSessions | undefined;
  sessionCount: () => number;
}

export interface HealthReport {
  status: 'ok' | 'degraded';
  instance: string;
  sessions: number;
  mode: 'stateless' | 'sessions';
  state: 'redis' | 'embedded';
  redis: 'ok' | 'unreachable' | 'not used';
}

export async function healthReport(h: HealthSource): Promise<HealthReport> {
  const reachable = h.shared ? await h.shared.ping() : true;
  const redis = h.shared?.kind === 'redis' ? (reachable ? 'ok' : 'unreachable') : 'not used';
  return {
    status: reachable ? 'ok' : 'degraded',
    instance: h.instanceId,
    sessions: h.sessionCount(),
    mode: h.stateless ? 'stateless' : 'sessions',
    state: h.shared?.kind === 'redis' ? 'redis' : 'embedded',
    redis,
  };
}

export async function serveHealth(res: ServerResponse, h: HealthSource): Promise<void> {
  const report = await healthReport(h);
  res.writeHead(report.status === 'ok' ? 200 : 503, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
  });
  res.end(JSON.stringify(report));
}
