import type { RedisDiagnosis } from '../../api/types';
import type { MessageKey } from '../../i18n/context';

/** The codes the console explains in its own words. */
export const knownCodes = [
  'ok',
  'dns_not_found',
  'connection_refused',
  'timeout',
  'tls_handshake_failed',
  'auth_failed',
  'db_out_of_range',
  'not_a_cluster',
  'sentinel_master_unknown',
  'wrong_mode',
  'invalid_settings',
  'unknown',
] as const;

type KnownCode = (typeof knownCodes)[number];

function isKnown(code: string): code is KnownCode {
  return (knownCodes as readonly string[]).includes(code);
}

/**
 * explainDiagnosis picks the plain-words title and advice of a connection
 * test; codes the console does not know fall back to "unknown", the
 * server's own message still shown beside.
 */
export function explainDiagnosis(d: Pick<RedisDiagnosis, 'ok' | 'code'>): {
  title: MessageKey;
  advice: MessageKey;
} {
  const code: KnownCode = d.ok ? 'ok' : isKnown(d.code) ? d.code : 'unknown';
  return { title: `redis.diag.${code}.title`, advice: `redis.diag.${code}.advice` };
}

/** formatLatency renders milliseconds with a precision that suits their size. */
export function formatLatency(ms: number): string {
  if (ms < 1) return ms.toFixed(2);
  if (ms < 10) return ms.toFixed(1);
  return Math.round(ms).toString();
}
