import { clientErrorCodes, isApiError } from '../api/client';
import type { ApiErrorDetail } from '../api/types';
import type { Translate } from '../i18n/context';

/** A failure described for people: a headline, field details and a request id. */
export interface DescribedError {
  message: string;
  details: ApiErrorDetail[];
  requestId: string | undefined;
}

/**
 * describeError turns any thrown value into readable text. Well-known codes
 * are translated; other API errors keep the server's message, which already
 * says what happened and what to do; internal errors never show more than
 * the request id (the rest is in gateway.log), and stack traces never show.
 * The request id is given for server errors only.
 */
export function describeError(err: unknown, t: Translate): DescribedError {
  if (isApiError(err)) {
    // The request id only helps when the answer is in gateway.log: 5xx.
    const base = { details: err.details, requestId: err.status >= 500 ? err.requestId : undefined };
    switch (err.code) {
      case clientErrorCodes.network:
        return { ...base, message: t('errors.network') };
      case 'invalid_credentials':
        return { ...base, message: t('auth.invalidCredentials') };
      case 'already_initialized':
        return { ...base, message: t('auth.alreadyInitialized') };
      case 'too_many_attempts':
        return {
          ...base,
          message:
            err.retryAfterSeconds !== undefined
              ? t('auth.tooManyAttempts', { seconds: err.retryAfterSeconds })
              : t('auth.tooManyAttemptsSoon'),
        };
      default:
        if (err.status >= 500 && err.code.startsWith('http_')) {
          return { ...base, message: t('errors.server') };
        }
        return { ...base, message: err.message };
    }
  }
  if (err instanceof Error && err.message !== '') {
    return { message: err.message, details: [], requestId: undefined };
  }
  return { message: t('errors.title'), details: [], requestId: undefined };
}
