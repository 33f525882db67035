/**
 * Simulated Runway task APIs: the official developer API, useapi.net and
 * makevid.ai. Tasks move over scaled time through PENDING (THROTTLED) RUNNING
 * to SUCCEEDED or FAILED; media URLs are signed like Runway's (`?_jwt=`).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { SimState } from './state.js';

export type RunwayProvider = 'runway' | 'useapi' | 'makevid';
export type Scenario = 'success' | 'throttled' | 'safety' | 'badOutput';

interface RunwayTask {
  uuid: string;
  provider: RunwayProvider;
  scenario: Scenario;
  createdAt: number;
  durationMs: number;
  email: string;
  prompt: string;
  model: string;
  /** Fixed snapshot (the documented example), bypassing the lifecycle. */
  fixed?: Record<string, unknown>;
  /** A test's hand on the task's clock: its elapsed time frozen at this share of its duration. */
  frozenAt?: number;
  /** Where elapsed time counts from once the clock runs again (createdAt until then). */
  clockFrom?: number;
}

export interface SimAccount {
  email: string;
  password: string;
  maxJobs: number;
  jwtToken: string;
}

/** The example from makevid's documentation, normalized by tests. */
export const MAKEVID_EXAMPLE_ID = '2c8dec65-7882-494b-9365-d1418676cd62';

/**
 * Ids that work in every simulator (and so with --simulate), listed in
 * `simulator --help` and the README: a finished and a failed official task, a
 * finished useapi.net task, and makevid's documented example.
 */
export const EXAMPLE_TASKS = {
  runway: { succeeded: '0b1e2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e', failed: '0b1e2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4f' },
  useapi: { succeeded: 'user:1-runwayml:creator@example.com-task:0b1e2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d50' },
  makevid: { succeeded: MAKEVID_EXAMPLE_ID },
} as const;

const b64url = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** A token shaped like Runway's media JWTs (HS256; the signature is random). */
export function fakeMediaJwt(bucket: string, expSec: number): string {
  return `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ keyHash: randomBytes(8).toString('hex'), bucket, stage: 'prod', exp: expSec })}.${randomBytes(32).toString('base64url')}`;
}

export class RunwaySim {
  private readonly tasks = new Map<string, RunwayTask>();
  readonly accounts = new Map<string, SimAccount>();

  constructor(
    private readonly state: SimState,
    private readonly baseUrl: () => string,
  ) {
    this.addAccount({
      email: 'creator@example.com',
      password: `pw-${randomUUID()}`,
      maxJobs: 5,
      jwtToken: fakeMediaJwt('session', Math.floor(Date.now() / 1000) + 86400),
    });
  }

  addAccount(a: SimAccount): void {
    this.accounts.set(a.email, a);
  }

  /**
   * Creates a task; its clock starts now, or stays frozen at `clockAt` (a share of its
   * duration: 0 queued, 0.5 running, 1 finished) until setClock moves it. Returns the id the provider uses.
   */
  create(
    provider: RunwayProvider,
    scenario: Scenario = 'success',
    durationMs = 12_000,
    email = 'creator@example.com',
    clockAt?: number,
  ): string {
    const uuid = randomUUID();
    this.tasks.set(uuid, {
      uuid,
      provider,
      scenario,
      createdAt: Date.now(),
      durationMs: this.state.scaled(durationMs),
      email,
      prompt: 'a lighthouse in a storm, cinematic',
      model: 'gen4_turbo',
      ...(clockAt === undefined ? {} : { frozenAt: share(clockAt) }),
    });
    return provider === 'useapi' ? useapiTaskId(email, uuid) : uuid;
  }

  /**
   * Freezes a task's clock at `at` (a share of its duration), or with `at` undefined lets it run
   * on from there: tests move a task through its phases on events, not on the wall clock.
   * Takes the id any provider gave; false when there is no such task.
   */
  setClock(id: string, at: number | undefined): boolean {
    const t = this.tasks.get(id.includes('-task:') ? id.split('-task:')[1]! : id);
    if (!t) return false;
    if (at !== undefined) t.frozenAt = share(at);
    else if (t.frozenAt !== undefined) {
      t.clockFrom = Date.now() - t.frozenAt * t.durationMs;
      delete t.frozenAt;
    }
    return true;
  }

  /** Seeds EXAMPLE_TASKS: finished a few minutes before the simulator started, so they answer at once with real dates. */
  seedExamples(): void {
    const createdAt = Date.now() - 5 * 60_000;
    const done = (uuid: string, provider: RunwayProvider, scenario: Scenario): void => {
      this.tasks.set(uuid, {
        uuid,
        provider,
        scenario,
        createdAt,
        durationMs: 0,
        email: 'creator@example.com',
        prompt: 'a lighthouse in a storm, cinematic',
        model: 'gen4_turbo',
      });
    };
    done(EXAMPLE_TASKS.runway.succeeded, 'runway', 'success');
    done(EXAMPLE_TASKS.runway.failed, 'runway', 'safety');
    done(EXAMPLE_TASKS.useapi.succeeded.split('-task:')[1]!, 'useapi', 'success');
    const base = this.baseUrl();
    const exp = Math.floor(Date.now() / 1000) + 48 * 3600;
    this.tasks.set(MAKEVID_EXAMPLE_ID, {
      uuid: MAKEVID_EXAMPLE_ID,
      provider: 'makevid',
      scenario: 'success',
      createdAt,
      durationMs: 0,
      email: '',
      prompt: '',
      model: 'gen3a_turbo',
      fixed: {
        id: MAKEVID_EXAMPLE_ID,
        name: null,
        image: null,
        createdAt: '2024-10-29T09:41:06.745Z',
        updatedAt: '2024-10-29T09:42:02.227Z',
        taskType: 'gen3a_turbo',
        options: {
          name: 'Gen-3 Alpha Turbo 2931869815, A cat walking in',
          seconds: 10,
          text_prompt: 'A cat walking in the garden',
          seed: 2931869815,
          exploreMode: false,
          watermark: false,
          enhance_prompt: true,
          init_image: `${base}/media/runway/datasets/init.jpg?_jwt=${fakeMediaJwt('runway-datasets', exp)}`,
          resolution: '720p',
          image_as_end_frame: false,
          assetGroupName: 'Generative Video',
        },
        status: 'SUCCEEDED',
        error: null,
        progressText: null,
        progressRatio: '1',
        estimatedTimeToStartSeconds: 0,
        artifacts: [
          {
            id: '7d8e4a52-0d84-4c0b-9e7f-5c2f1a8b3e11',
            createdAt: '2024-10-29T09:42:01.000Z',
            updatedAt: '2024-10-29T09:42:01.000Z',
            userId: 1234567,
            createdBy: 1234567,
            taskId: MAKEVID_EXAMPLE_ID,
            parentAssetGroupId: 'b1e4c7d2-0000-4000-8000-000000000001',
            filename: 'Gen-3 Alpha Turbo 2931869815, A cat walking in.mp4',
            url: `${base}/media/runway/7d8e4a52-0d84-4c0b-9e7f-5c2f1a8b3e11.mp4?_jwt=${fakeMediaJwt('runway-task-artifacts', exp)}`,
            fileSize: '3567105',
            isDirectory: false,
            previewUrls: [
              `${base}/media/runway/7d8e4a52-preview.jpg?_jwt=${fakeMediaJwt('runway-task-artifacts', exp)}`,
            ],
            private: true,
            privateInTeam: true,
            deleted: false,
            reported: false,
            metadata: { frameRate: 24, duration: 10.542, dimensions: [1280, 768], size: { width: 1280, height: 768 } },
            favorite: false,
          },
        ],
        sharedAsset: null,
      },
    });
  }

  find(uuid: string, provider: RunwayProvider): RunwayTask | undefined {
    const t = this.tasks.get(uuid);
    return t && t.provider === provider ? t : undefined;
  }

  private phase(t: RunwayTask): { status: string; ratio: number | null } {
    const D = Math.max(1, t.durationMs);
    const el = t.frozenAt !== undefined ? t.frozenAt * D : Date.now() - (t.clockFrom ?? t.createdAt);
    if (el >= D)
      return { status: t.scenario === 'safety' || t.scenario === 'badOutput' ? 'FAILED' : 'SUCCEEDED', ratio: 1 };
    if (el < 0.15 * D) return { status: 'PENDING', ratio: null };
    if (t.scenario === 'throttled' && el < 0.35 * D) return { status: 'THROTTLED', ratio: 0 };
    const start = t.scenario === 'throttled' ? 0.35 : 0.15;
    return { status: 'RUNNING', ratio: Math.min(0.99, (el / D - start) / (1 - start)) };
  }

  private failure(t: RunwayTask): { code: string; message: string } {
    return t.scenario === 'safety'
      ? { code: 'SAFETY.INPUT.TEXT', message: 'The prompt was flagged by content moderation.' }
      : { code: 'INTERNAL.BAD_OUTPUT.CODE01', message: 'The output did not pass quality checks.' };
  }

  private signed(path: string): string {
    return `${this.baseUrl()}/media/runway/${path}?_jwt=${fakeMediaJwt('runway-task-artifacts', Math.floor(Date.now() / 1000) + 48 * 3600)}`;
  }

  /** The official API's tagged union. */
  official(t: RunwayTask): Record<string, unknown> {
    const { status, ratio } = this.phase(t);
    const base = { id: t.uuid, status, createdAt: new Date(t.createdAt).toISOString() };
    if (status === 'RUNNING') return { ...base, progress: ratio };
    if (status === 'SUCCEEDED') return { ...base, output: [this.signed(`${t.uuid}.mp4`)] };
    if (status === 'FAILED') {
      const f = this.failure(t);
      return { ...base, failure: f.message, failureCode: f.code };
    }
    return base;
  }

  /** The Runway web-app task that useapi and makevid pass through. */
  webApp(t: RunwayTask, provider: 'useapi' | 'makevid'): Record<string, unknown> {
    if (t.fixed) return t.fixed;
    const { status, ratio } = this.phase(t);
    const created = new Date(t.createdAt).toISOString();
    const id = provider === 'useapi' ? useapiTaskId(t.email, t.uuid) : t.uuid;
    const exp = Math.floor(Date.now() / 1000) + 48 * 3600;
    const task: Record<string, unknown> = {
      id: t.uuid,
      ...(provider === 'useapi' ? { taskId: id } : {}),
      name: null,
      image: null,
      createdAt: created,
      updatedAt: new Date().toISOString(),
      taskType: t.model,
      options: {
        name: `Gen-4 Turbo ${t.uuid.slice(0, 8)}`,
        seconds: 5,
        text_prompt: t.prompt,
        seed: 42,
        exploreMode: false,
        watermark: false,
        init_image: `${this.baseUrl()}/media/runway/datasets/${t.uuid}.jpg?_jwt=${fakeMediaJwt('runway-datasets', exp)}`,
        ...(provider === 'useapi' ? { replyUrl: 'https://hooks.example.com/runway?secret=hook-secret-123456' } : {}),
      },
      status,
      error: null,
      progressText: null,
      progressRatio: ratio === null ? null : String(Math.round(ratio * 1000) / 1000),
      estimatedTimeToStartSeconds: status === 'PENDING' ? 4 : 0,
      artifacts: [] as unknown[],
      sharedAsset: null,
      ...(provider === 'makevid' ? { server_id: 'srv-7' } : {}),
    };
    if (status === 'FAILED') {
      const f = this.failure(t);
      task.error = {
        errorMessage: f.message,
        reason: f.code,
        message: f.message,
        moderation_category: t.scenario === 'safety' ? 'violence' : undefined,
        tally_asimov: false,
      };
    }
    if (status === 'SUCCEEDED') {
      const aid = randomUUID();
      const artifact: Record<string, unknown> = {
        id: aid,
        userId: 1234567,
        createdBy: 1234567,
        taskId: id,
        parentAssetGroupId: randomUUID(),
        filename: `${t.model}_${t.uuid.slice(0, 8)}.mp4`,
        url: this.signed(`${aid}.mp4`),
        fileSize: '2345678',
        isDirectory: false,
        previewUrls: [this.signed(`${aid}-preview.jpg`)],
        private: true,
        privateInTeam: true,
        deleted: false,
        reported: false,
        favorite: false,
        metadata:
          provider === 'useapi'
            ? { frameRate: 24, duration: 5.041, width: 1280, height: 720, hasAlphaChannel: false, hasAudio: false }
            : { frameRate: 24, duration: 5.041, dimensions: [1280, 720], size: { width: 1280, height: 720 } },
      };
      if (provider === 'useapi') artifact.assetId = `user:1-runwayml:${t.email}-asset:${aid}`;
      task.artifacts = [artifact];
    }
    return task;
  }
}

const share = (at: number): number => Math.min(1, Math.max(0, Number.isFinite(at) ? at : 0));

export function useapiTaskId(email: string, uuid: string): string {
  return `user:1-runwayml:${email}-task:${uuid}`;
}
