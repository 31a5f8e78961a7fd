import { describe, expect, it } from 'vitest';
import type { RedisSettingsView } from '../../api/types';
import { explainDiagnosis, formatLatency } from './diagnosis';
import { formToRedis, redisToForm } from './redisForm';

const stored: RedisSettingsView = {
  mode: 'standalone',
  addresses: ['redis:6379'],
  masterName: '',
  username: '',
  db: 0,
  tls: { enabled: false, insecureSkipVerify: true, serverName: 'x', caCertPEM: '' },
  poolSize: 0,
  minIdleConns: 0,
  dialTimeout: '5s',
  readTimeout: '3s',
  writeTimeout: '3s',
  passwordSet: true,
  configured: true,
};

describe('Redis form', () => {
  it('keeps the stored password unless told to replace or remove it', () => {
    const v = redisToForm(stored);
    expect(v.passwordAction).toBe('keep');
    expect('password' in formToRedis({ ...v, password: 'typed but kept' }, true)).toBe(false);
    expect(formToRedis({ ...v, passwordAction: 'clear' }, true).password).toBe('');
    expect(
      formToRedis({ ...v, passwordAction: 'replace', password: 's3cret' }, true).password,
    ).toBe('s3cret');
  });

  it('sends a password typed when none is stored, nothing when left empty', () => {
    const v = redisToForm({ ...stored, passwordSet: false });
    expect(v.passwordAction).toBe('replace');
    expect('password' in formToRedis(v, false)).toBe(false);
    expect(formToRedis({ ...v, password: 'pw' }, false).password).toBe('pw');
  });

  it('clears TLS details when TLS is off and the master name outside sentinel mode', () => {
    const req = formToRedis({ ...redisToForm(stored), masterName: 'mymaster' }, true);
    expect(req.tls).toEqual({
      enabled: false,
      insecureSkipVerify: false,
      serverName: '',
      caCertPEM: '',
    });
    expect(req.masterName).toBe('');
  });
});

describe('connection diagnosis', () => {
  it('explains known codes in its own words and falls back for new ones', () => {
    expect(explainDiagnosis({ ok: false, code: 'auth_failed' }).title).toBe(
      'redis.diag.auth_failed.title',
    );
    expect(explainDiagnosis({ ok: true, code: 'ok' }).title).toBe('redis.diag.ok.title');
    expect(explainDiagnosis({ ok: false, code: 'something_new' }).advice).toBe(
      'redis.diag.unknown.advice',
    );
  });

  it('shows latency with a precision that suits it', () => {
    expect(formatLatency(0.234)).toBe('0.23');
    expect(formatLatency(4.56)).toBe('4.6');
    expect(formatLatency(123.4)).toBe('123');
  });
});
