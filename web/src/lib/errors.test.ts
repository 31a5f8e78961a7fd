import { describe, expect, it } from 'vitest';
import { ApiError, clientErrorCodes } from '../api/client';
import { translate, type MessageKey, type MessageVars } from '../i18n/context';
import { describeError } from './errors';

const t = (k: MessageKey, v?: MessageVars) => translate('en', k, v);

describe('describeError', () => {
  it('translates the codes people meet at sign-in', () => {
    expect(
      describeError(
        new ApiError({
          status: 429,
          code: 'too_many_attempts',
          message: 'x',
          retryAfterSeconds: 12,
        }),
        t,
      ).message,
    ).toBe('Too many failed sign-ins. Try again in 12 s.');
    expect(
      describeError(new ApiError({ status: 401, code: 'invalid_credentials', message: 'x' }), t)
        .message,
    ).toBe('Wrong username or password.');
    expect(
      describeError(
        new ApiError({ status: 0, code: clientErrorCodes.network, message: 'x' }),
        (k) => translate('zh-CN', k),
      ).message,
    ).toContain('无法连接 Gatehouse');
  });

  it("keeps the server's own explanation and details", () => {
    const d = describeError(
      new ApiError({
        status: 400,
        code: 'plugin_invalid',
        message: 'image address "x": unknown scheme',
        details: [{ field: 'imageAddress', message: 'unknown scheme' }],
        requestId: 'r1',
      }),
      t,
    );
    expect(d).toEqual({
      message: 'image address "x": unknown scheme',
      details: [{ field: 'imageAddress', message: 'unknown scheme' }],
      // A client error is not in gateway.log: no request id to chase.
      requestId: undefined,
    });
  });

  it('gives the request id of server errors', () => {
    const d = describeError(
      new ApiError({
        status: 500,
        code: 'internal_error',
        message: 'the server failed; see gateway.log for request id r2',
        requestId: 'r2',
      }),
      t,
    );
    expect(d.requestId).toBe('r2');
    expect(d.message).toBe('the server failed; see gateway.log for request id r2');
  });

  it('never shows more than a message for other failures', () => {
    const err = new TypeError('x is undefined');
    expect(describeError(err, t).message).toBe('x is undefined');
    expect(describeError('weird', t).message).toBe('Something went wrong');
    expect(
      describeError(new ApiError({ status: 502, code: 'http_502', message: 'HTTP 502' }), t)
        .message,
    ).toBe('Gatehouse hit an internal error. The details are in gateway.log.');
  });
});
