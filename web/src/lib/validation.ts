import type { MessageKey, MessageVars } from '../i18n/context';

// Client-side checks that mirror the admin API's validation, so that most
// mistakes are explained before a round trip. The API stays the authority:
// its field errors are shown in place as well (see formErrors.ts).

/** A validation problem: a message key and its values. */
export interface Problem {
  key: MessageKey;
  vars?: MessageVars;
}

/** The shortest password the console accepts. */
export const minPasswordLength = 8;

/** bcrypt ignores everything past 72 bytes, so the API refuses longer passwords. */
export const maxPasswordBytes = 72;

/** The longest username, in bytes. */
export const maxUsernameBytes = 64;

export function validateUsername(value: string | undefined): Problem | undefined {
  const v = value ?? '';
  if (v.trim() === '') return { key: 'validation.usernameRequired' };
  if (/[\s/]/.test(v) || new TextEncoder().encode(v).length > maxUsernameBytes) {
    return { key: 'validation.usernameInvalid' };
  }
  return undefined;
}

export function validatePassword(value: string | undefined): Problem | undefined {
  const v = value ?? '';
  if (v === '') return { key: 'validation.passwordRequired' };
  if (Array.from(v).length < minPasswordLength) {
    return { key: 'validation.passwordTooShort', vars: { min: minPasswordLength } };
  }
  const bytes = new TextEncoder().encode(v).length;
  if (bytes > maxPasswordBytes) return { key: 'validation.passwordTooLong', vars: { bytes } };
  return undefined;
}

export function validatePasswordRepeat(
  password: string | undefined,
  repeat: string | undefined,
): Problem | undefined {
  if ((repeat ?? '') === '') return { key: 'validation.passwordRequired' };
  if (password !== repeat) return { key: 'validation.passwordsDiffer' };
  return undefined;
}

export function validateNewPassword(
  current: string | undefined,
  next: string | undefined,
): Problem | undefined {
  const p = validatePassword(next);
  if (p) return p;
  if (current !== undefined && current !== '' && current === next) {
    return { key: 'validation.newPasswordSame' };
  }
  return undefined;
}

const sha256Pin = /^sha256=[0-9a-fA-F]{64}$/;
const ociRegistry = /^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:\d+)?$/;
const ociComponent = /^[a-z0-9]+([._-][a-z0-9]+)*$/;
const ociTag = /^\w[\w.-]{0,127}$/;

/**
 * validateImageAddress checks a plugin image address the way the server
 * parses it: file:///absolute/clean/path.so (optionally #sha256=<64 hex>),
 * https://host/path/file#sha256=<64 hex>, or
 * oci://registry/repository:tag or oci://registry/repository@sha256:<64 hex>.
 */
export function validateImageAddress(value: string | undefined): Problem | undefined {
  const v = (value ?? '').trim();
  if (v === '') return { key: 'validation.imageAddressRequired' };
  const scheme = v.slice(0, Math.max(0, v.indexOf('://'))).toLowerCase();
  switch (scheme) {
    case 'file':
      return validateFileAddress(v.slice('file://'.length));
    case 'https':
      return validateHTTPSAddress(v);
    case 'oci':
      return validateOCIAddress(v.slice('oci://'.length));
    case 'http':
      return { key: 'validation.imageAddressHttp' };
    default:
      return { key: 'validation.imageAddressScheme' };
  }
}

function validateFileAddress(rest: string): Problem | undefined {
  const hash = rest.indexOf('#');
  const location = hash === -1 ? rest : rest.slice(0, hash);
  const slash = location.indexOf('/');
  const host = slash === -1 ? location : location.slice(0, slash);
  const path = slash === -1 ? '' : location.slice(slash);
  if ((host !== '' && host !== 'localhost') || !isCleanAbsolute(path) || !path.endsWith('.so')) {
    return { key: 'validation.imageAddressFile' };
  }
  if (hash !== -1 && !sha256Pin.test(rest.slice(hash + 1))) {
    return { key: 'validation.imageAddressSha256' };
  }
  return undefined;
}

function isCleanAbsolute(path: string): boolean {
  if (!path.startsWith('/') || path.length < 2 || path.endsWith('/') || path.includes('?')) {
    return false;
  }
  return path
    .slice(1)
    .split('/')
    .every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

function validateHTTPSAddress(v: string): Problem | undefined {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return { key: 'validation.imageAddressHttps' };
  }
  if (url.hostname === '' || url.pathname === '' || url.pathname.endsWith('/')) {
    return { key: 'validation.imageAddressHttps' };
  }
  if (url.username !== '' || url.password !== '') return { key: 'validation.imageAddressHttps' };
  if (!sha256Pin.test(url.hash.slice(1))) return { key: 'validation.imageAddressSha256' };
  return undefined;
}

function validateOCIAddress(ref: string): Problem | undefined {
  let name: string;
  const at = ref.indexOf('@');
  if (at !== -1) {
    name = ref.slice(0, at);
    if (!/^sha256:[0-9a-f]{64}$/.test(ref.slice(at + 1))) {
      return { key: 'validation.imageAddressDigest' };
    }
  } else {
    const colon = ref.lastIndexOf(':');
    if (colon <= ref.lastIndexOf('/')) return { key: 'validation.imageAddressOci' };
    name = ref.slice(0, colon);
    if (!ociTag.test(ref.slice(colon + 1))) return { key: 'validation.imageAddressOci' };
  }
  const slash = name.indexOf('/');
  if (slash <= 0 || slash === name.length - 1) return { key: 'validation.imageAddressOci' };
  const registry = name.slice(0, slash);
  const components = name.slice(slash + 1).split('/');
  if (!ociRegistry.test(registry) || !components.every((c) => ociComponent.test(c))) {
    return { key: 'validation.imageAddressOci' };
  }
  return undefined;
}
