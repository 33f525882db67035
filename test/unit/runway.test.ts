import { describe, expect, it } from 'vitest';
import { checkIdFor, classifyId, maskEmails } from '../../src/runway/ids.js';
import {
  isRetryableFailure,
  jwtExpiry,
  mapStatus,
  normalizeOfficial,
  normalizeWebApp,
} from '../../src/runway/normalize.js';
import { statusError } from '../../src/runway/http.js';
import { ValidationError } from '../../src/shared/errors.js';

const U = '2c8dec65-7882-494b-9365-d1418676cd62';
const jwt = (exp: number) =>
  `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify({ exp, bucket: 'runway-task-artifacts' })).toString('base64url')}.sig`;

describe('ids', () => {
  it('accepts UUIDs and useapi composites', () => {
    expect(classifyId(U)).toBe('uuid');
    expect(classifyId(`user:123-runwayml:me.you+x@example.co.uk-task:${U}`)).toBe('useapi');
  });

  it.each([
    '../etc/passwd',
    `${U}/../x`,
    `${U}%2F`,
    `${U} `,
    ' x',
    `${U}?a=1`,
    `${U}#f`,
    'a/b',
    `user:1-runwayml:a%40b.com-task:${U}`,
    `user:1-runwayml:a@b.com-task:${U}/x`,
    '',
  ])('refuses %j', (id) => {
    expect(() => classifyId(id)).toThrow(ValidationError);
  });

  it('checks the id fits the provider', () => {
    expect(() => checkIdFor(U, 'useapi')).toThrow(/composite/);
    expect(() => checkIdFor(`user:1-runwayml:a@b.com-task:${U}`, 'makevid')).toThrow(/UUIDs/);
  });

  it('masks emails in text', () => {
    expect(maskEmails('account creator@example.com is broken')).toBe('account c***@example.com is broken');
  });
});

describe('normalization', () => {
  it('normalizes the documented makevid example', () => {
    const exp = Math.floor(Date.UTC(2030, 0, 1) / 1000);
    const v = normalizeWebApp(
      {
        id: U,
        createdAt: '2024-10-29T09:41:06.745Z',
        updatedAt: '2024-10-29T09:42:02.227Z',
        taskType: 'gen3a_turbo',
        options: { text_prompt: 'A cat', init_image: `https://d2.cloudfront.net/datasets/x.jpg?_jwt=${jwt(exp)}` },
        status: 'SUCCEEDED',
        error: null,
        progressRatio: '1',
        estimatedTimeToStartSeconds: 0,
        artifacts: [
          {
            id: 'a',
            url: `https://dn.cloudfront.net/${U}.mp4?_jwt=${jwt(exp)}`,
            previewUrls: ['https://p/1.jpg'],
            fileSize: '3567105',
            filename: 'Gen-3.mp4',
            metadata: { frameRate: 24, duration: 10.542, dimensions: [1280, 768], size: { width: 1280, height: 768 } },
          },
        ],
      },
      'makevid',
    );
    expect(v).toMatchObject({
      id: U,
      provider: 'makevid',
      status: 'succeeded',
      rawStatus: 'SUCCEEDED',
      terminal: true,
      progress: 1,
      model: 'gen3a_turbo',
      prompt: 'A cat',
      error: null,
    });
    expect(v.outputs).toHaveLength(1);
    expect(v.outputs[0]).toMatchObject({
      kind: 'video',
      mimeType: 'video/mp4',
      durationSec: 10.542,
      width: 1280,
      height: 768,
      frameRate: 24,
      sizeBytes: 3567105,
      expiresAt: '2030-01-01T00:00:00.000Z',
    });
    expect(v.outputs[0]!.url).toContain('_jwt=');
    expect(v.inputs!.initImage).toBe('https://d2.cloudfront.net/datasets/x.jpg');
    expect(v.pollAfterSec).toBeUndefined();
  });

  it('reads the newer useapi metadata and the error object', () => {
    const v = normalizeWebApp(
      {
        taskId: `user:1-runwayml:a@b.com-task:${U}`,
        id: U,
        status: 'FAILED',
        progressRatio: null,
        artifacts: [],
        error: { reason: 'SAFETY.INPUT.TEXT', message: 'flagged for a@b.com', moderation_category: 'violence' },
      },
      'useapi',
    );
    expect(v.id).toBe(`user:1-runwayml:a@b.com-task:${U}`);
    expect(v.error).toEqual({
      code: 'SAFETY.INPUT.TEXT',
      message: 'flagged for a***@b.com',
      category: 'violence',
      retryable: false,
    });
    const w = normalizeWebApp(
      {
        status: 'SUCCEEDED',
        artifacts: [{ url: 'https://x/y.mp4', metadata: { width: 640, height: 360, duration: 5 }, fileSize: 10 }],
      },
      'useapi',
    );
    expect(w.outputs[0]).toMatchObject({ width: 640, height: 360, sizeBytes: 10 });
  });

  it('normalizes the official union', () => {
    expect(normalizeOfficial({ id: U, status: 'RUNNING', createdAt: 't', progress: 0.4 })).toMatchObject({
      status: 'running',
      terminal: false,
      progress: 0.4,
      updatedAt: null,
      pollAfterSec: 6,
    });
    expect(normalizeOfficial({ id: U, status: 'PENDING', createdAt: 't' })).toMatchObject({
      status: 'queued',
      progress: null,
    });
    expect(normalizeOfficial({ id: U, status: 'CANCELED', createdAt: 't' }).status).toBe('cancelled');
    const f = normalizeOfficial({
      id: U,
      status: 'FAILED',
      createdAt: 't',
      failure: 'bad',
      failureCode: 'INTERNAL.BAD_OUTPUT.CODE01',
    });
    expect(f.error).toEqual({
      code: 'INTERNAL.BAD_OUTPUT.CODE01',
      category: 'INTERNAL',
      message: 'bad',
      retryable: true,
    });
    const s = normalizeOfficial({
      id: U,
      status: 'SUCCEEDED',
      createdAt: 't',
      output: ['https://x/a.mp4?_jwt=' + jwt(2000000000)],
    });
    expect(s.outputs[0]).toMatchObject({ kind: 'video', expiresAt: new Date(2000000000 * 1000).toISOString() });
  });

  it('treats unknown statuses as terminal and unknown', () => {
    expect(mapStatus('WEIRD')).toEqual({ status: 'unknown', terminal: true });
    expect(mapStatus('THROTTLED')).toEqual({ status: 'throttled', terminal: false });
  });

  it('knows which failures are retryable', () => {
    expect(isRetryableFailure('SAFETY.OUTPUT.IMAGE')).toBe(false);
    expect(isRetryableFailure('INTERNAL.BAD_OUTPUT.CODE02')).toBe(true);
    expect(isRetryableFailure(undefined)).toBe(false);
  });

  it('reads S3 presigned expiry', () => {
    expect(jwtExpiry('https://b/f.mp4?X-Amz-Date=20250101T000000Z&X-Amz-Expires=3600&X-Amz-Signature=x')).toBe(
      '2025-01-01T01:00:00.000Z',
    );
    expect(jwtExpiry('https://b/f.mp4')).toBeUndefined();
  });

  it('turns statuses into sentences', () => {
    expect(statusError('useapi', 596, { error: 'session for me@x.com broken' }).message).toMatch(
      /session is broken.*m\*\*\*@x\.com/,
    );
    expect(statusError('useapi', 596, null).hint).toMatch(/re-add|add it again/);
    expect(statusError('runway', 401, null).hint).toMatch(/RUNWAYML_API_SECRET/);
    expect(statusError('useapi', 412, null).opts.category).toBe('quota');
    expect(statusError('useapi', 410, null).message).toMatch(/expired/);
    expect(statusError('useapi', 422, null).opts.category).toBe('safety');
    expect(statusError('runway', 429, null, 2000).message).toMatch(/retry after 2 s/);
    expect(statusError('runway', 503, null).retryable).toBe(true);
  });
});
