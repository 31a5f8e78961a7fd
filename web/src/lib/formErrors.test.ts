import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/client';
import { splitFieldErrors } from './formErrors';

describe('splitFieldErrors', () => {
  it('puts field details under their fields and keeps the rest', () => {
    const err = new ApiError({
      status: 400,
      code: 'validation_failed',
      message: 'The request is not valid.',
      details: [
        { field: 'newPassword', message: 'use 8 to 72 characters' },
        { field: 'newPassword', message: 'must differ from the current one' },
        { field: 'user.currentPassword', message: 'does not match' },
        { field: 'token', message: 'expired' },
      ],
    });
    expect(splitFieldErrors(err, ['currentPassword', 'newPassword'])).toEqual({
      fields: [
        {
          name: 'newPassword',
          errors: ['use 8 to 72 characters', 'must differ from the current one'],
        },
        { name: 'currentPassword', errors: ['does not match'] },
      ],
      rest: [{ field: 'token', message: 'expired' }],
    });
  });

  it('leaves errors that are not API errors alone', () => {
    expect(splitFieldErrors(new Error('boom'), ['username'])).toEqual({ fields: [], rest: [] });
  });
});
