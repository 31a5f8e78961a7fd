import type { RedisMode, RedisSettingsRequest, RedisSettingsView } from '../../api/types';

/** What to do with the stored password. */
export type PasswordAction = 'keep' | 'replace' | 'clear';

/** The values of the Redis form; names follow the API's field paths. */
export interface RedisFormValues {
  mode: RedisMode;
  addresses: string[];
  masterName: string;
  username: string;
  passwordAction: PasswordAction;
  password: string;
  db: number | null;
  tls: {
    enabled: boolean;
    insecureSkipVerify: boolean;
    serverName: string;
    caCertPEM: string;
  };
  poolSize: number | null;
  minIdleConns: number | null;
  dialTimeout: string;
  readTimeout: string;
  writeTimeout: string;
}

/** redisToForm fills the form from the stored settings. */
export function redisToForm(v: RedisSettingsView): RedisFormValues {
  return {
    mode: v.mode,
    addresses: v.addresses.length > 0 ? [...v.addresses] : [''],
    masterName: v.masterName,
    username: v.username,
    passwordAction: v.passwordSet ? 'keep' : 'replace',
    password: '',
    db: v.db,
    tls: { ...v.tls },
    poolSize: v.poolSize,
    minIdleConns: v.minIdleConns,
    dialTimeout: v.dialTimeout,
    readTimeout: v.readTimeout,
    writeTimeout: v.writeTimeout,
  };
}

/**
 * formToRedis builds what PUT and test take. The password is write-only:
 * "keep" leaves it out (the stored one is used), "clear" sends "", and a
 * typed password replaces it. With no stored password an empty field means
 * none.
 */
export function formToRedis(v: RedisFormValues, passwordSet: boolean): RedisSettingsRequest {
  const tlsOn = v.tls.enabled;
  const req: RedisSettingsRequest = {
    mode: v.mode,
    addresses: v.addresses.map((a) => a.trim()).filter((a) => a !== ''),
    masterName: v.mode === 'sentinel' ? v.masterName.trim() : '',
    username: v.username.trim(),
    db: v.db ?? 0,
    tls: {
      enabled: tlsOn,
      insecureSkipVerify: tlsOn && v.tls.insecureSkipVerify,
      serverName: tlsOn ? v.tls.serverName.trim() : '',
      caCertPEM: tlsOn ? v.tls.caCertPEM.trim() : '',
    },
    poolSize: v.poolSize ?? 0,
    minIdleConns: v.minIdleConns ?? 0,
    dialTimeout: v.dialTimeout.trim(),
    readTimeout: v.readTimeout.trim(),
    writeTimeout: v.writeTimeout.trim(),
  };
  if (passwordSet) {
    if (v.passwordAction === 'clear') req.password = '';
    else if (v.passwordAction === 'replace') req.password = v.password;
  } else if (v.password !== '') {
    req.password = v.password;
  }
  return req;
}
