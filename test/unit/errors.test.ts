import { describe, expect, it } from 'vitest';
import { classifyCode, classifyStatus, describeError, parseEnvelope } from '../../src/runware/errors.js';

describe('classifyCode', () => {
  it.each([
    ['invalidApiKey', 'auth', false],
    ['missingApiKey', 'auth', false],
    ['insufficientCredits', 'quota', false],
    ['contentPolicyViolation', 'safety', false],
    ['nsfwContentDetected', 'safety', false],
    ['taskFailedOrNotFound', 'notFound', false],
    ['taskNotFound', 'notFound', false],
    ['taskExpired', 'notFound', false],
    ['providerRateLimitExceeded', 'rateLimit', true],
    ['inferenceRateLimitExceeded', 'rateLimit', true],
    // The reference's TS table puts timeoutProvider in no family; the project's guidance retries it.
    ['timeoutProvider', 'timeout', true],
    ['providerTimeout', 'timeout', true],
    ['authTimeout', 'auth', false],
    ['noAvailableServer', 'provider', true],
    ['inferenceError', 'provider', false],
    ['internalServerError', 'serverError', true],
    // Permanent, though substring families once retried them (hardening issue, class 8).
    ['unknownError', 'serverError', false],
    ['modelUnavailable', 'provider', false],
    ['invalidTimeoutValue', 'timeout', false],
    ['providerSettingsInvalid', 'provider', false],
    ['providerInsufficientCredits', 'quota', false],
    ['providerNotFound', 'notFound', false],
    ['webhookTimeout', 'timeout', false],
    ['conflictTaskUUID', 'validation', false],
    ['invalidWidth', 'validation', false],
    ['unknownParameter', 'validation', false],
    ['somethingNew', 'unknown', false],
  ] as const)('%s is %s (retryable %s)', (code, category, retryable) => {
    expect(classifyCode(code)).toEqual({ category, retryable });
  });

  it('classifies statuses', () => {
    expect(classifyStatus(429)).toEqual({ category: 'rateLimit', retryable: true });
    expect(classifyStatus(503).retryable).toBe(true);
    expect(classifyStatus(401)).toEqual({ category: 'auth', retryable: false });
    expect(classifyStatus(402).category).toBe('quota');
    expect(classifyStatus(400).retryable).toBe(false);
  });
});

describe('parseEnvelope', () => {
  it('keeps data and errors apart, scoped by taskUUID', () => {
    const env = parseEnvelope({
      data: [{ taskType: 'imageInference', taskUUID: 'a', imageURL: 'u' }],
      errors: [
        {
          code: 'invalidWidth',
          message: 'bad',
          parameter: 'width',
          taskType: 'imageInference',
          taskUUID: 'b',
          documentation: 'https://d',
        },
      ],
    });
    expect(env.data).toHaveLength(1);
    expect(env.errors[0]).toMatchObject({
      code: 'invalidWidth',
      parameter: 'width',
      taskUUID: 'b',
      category: 'validation',
      documentation: 'https://d',
    });
  });

  it('reads array parameters and extra fields', () => {
    const env = parseEnvelope({
      errors: [
        {
          code: 'incompatibleParameters',
          message: 'm',
          parameter: ['width', 'height'],
          allowedValues: [1],
          min: 1,
          max: 2,
        },
      ],
    });
    expect(env.errors[0]!.parameter).toEqual(['width', 'height']);
    expect(env.errors[0]!.allowedValues).toEqual([1]);
    expect(describeError(env.errors[0]!)).toBe('incompatibleParameters (parameter: width, height): m');
  });

  it('reads the legacy error shape; errorId 19 is an invalid key', () => {
    const env = parseEnvelope({
      error: true,
      errorId: 19,
      errorMessage: 'Invalid api key',
      errorMessageContentId: 1212,
    });
    expect(env.errors[0]).toMatchObject({ code: 'invalidApiKey', message: 'Invalid api key', category: 'auth' });
  });

  it('reads singular error objects and arrays', () => {
    expect(
      parseEnvelope({ error: { code: 'timeoutProvider', message: 'slow' }, taskUUID: 't' }).errors[0],
    ).toMatchObject({ code: 'timeoutProvider', taskUUID: 't', retryable: true });
    expect(parseEnvelope({ error: [{ code: 'x', message: 'y' }] }).errors).toHaveLength(1);
  });

  it('turns status:error items into scoped errors', () => {
    const env = parseEnvelope({
      data: [
        { taskType: 'videoInference', taskUUID: 'v', status: 'error', error: { code: 'taskFailed', message: 'boom' } },
      ],
    });
    expect(env.data).toHaveLength(0);
    expect(env.errors[0]).toMatchObject({ code: 'taskFailed', taskUUID: 'v', taskType: 'videoInference' });
  });

  it('tolerates junk', () => {
    expect(parseEnvelope(null)).toEqual({ data: [], errors: [] });
    expect(parseEnvelope('x')).toEqual({ data: [], errors: [] });
    expect(parseEnvelope({ data: [1, null, { taskUUID: 'a' }] }).data).toHaveLength(1);
  });
});
