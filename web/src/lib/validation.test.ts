import { describe, expect, it } from 'vitest';
import {
  validateImageAddress,
  validateNewPassword,
  validatePassword,
  validatePasswordRepeat,
  validateUsername,
} from './validation';

const hex64 = 'a'.repeat(64);

describe('validateImageAddress', () => {
  it.each([
    'file:///opt/gatehouse/plugins/mcp-server.so',
    'file://localhost/opt/gatehouse/plugins/mcp-server.so',
    `file:///opt/gatehouse/plugins/mcp-server.so#sha256=${hex64}`,
    `  file:///srv/x.so  `,
    `https://downloads.example.com/gatehouse/mcp-server.so#sha256=${hex64}`,
    `https://downloads.example.com:8443/a/b.so#sha256=${hex64.toUpperCase()}`,
    'oci://ghcr.io/acme/mcp-server:1.2.0',
    'oci://registry.local:5000/team/plugins/mcp-server:v1_2-rc.1',
    `oci://ghcr.io/acme/mcp-server@sha256:${hex64}`,
  ])('accepts %s', (address) => {
    expect(validateImageAddress(address)).toBeUndefined();
  });

  it.each([
    ['', 'validation.imageAddressRequired'],
    ['   ', 'validation.imageAddressRequired'],
    ['/opt/gatehouse/plugins/mcp-server.so', 'validation.imageAddressScheme'],
    ['ftp://host/x.so', 'validation.imageAddressScheme'],
    [`http://example.com/x.so#sha256=${hex64}`, 'validation.imageAddressHttp'],
    ['file://opt/gatehouse/plugins/mcp-server.so', 'validation.imageAddressFile'],
    ['file:///opt/gatehouse/plugins/', 'validation.imageAddressFile'],
    ['file:///opt/gatehouse/../plugins/x.so', 'validation.imageAddressFile'],
    ['file:///opt//gatehouse/x.so', 'validation.imageAddressFile'],
    ['file:///opt/gatehouse/plugins/mcp-server', 'validation.imageAddressFile'],
    ['file:///opt/x.so#sha256=abc', 'validation.imageAddressSha256'],
    ['https://example.com/x.so', 'validation.imageAddressSha256'],
    ['https://example.com/x.so#sha256=<64 hex digits>', 'validation.imageAddressSha256'],
    [`https://example.com/#sha256=${hex64}`, 'validation.imageAddressHttps'],
    [`https://user:pw@example.com/x.so#sha256=${hex64}`, 'validation.imageAddressHttps'],
    ['oci://ghcr.io/acme/mcp-server', 'validation.imageAddressOci'],
    ['oci://ghcr.io:1.0', 'validation.imageAddressOci'],
    ['oci://ghcr.io/Acme/mcp-server:1.0', 'validation.imageAddressOci'],
    ['oci://ghcr.io/acme/mcp-server:.bad', 'validation.imageAddressOci'],
    ['oci://ghcr.io/acme/mcp-server@sha256:1234', 'validation.imageAddressDigest'],
  ])('rejects %j with %s', (address, key) => {
    expect(validateImageAddress(address)?.key).toBe(key);
  });
});

describe('username and password rules', () => {
  it.each([
    ['admin', undefined],
    ['ops+alerts@example.com', undefined],
    ['管理员', undefined],
    ['', 'validation.usernameRequired'],
    ['   ', 'validation.usernameRequired'],
    ['two words', 'validation.usernameInvalid'],
    ['team/admin', 'validation.usernameInvalid'],
    ['x'.repeat(65), 'validation.usernameInvalid'],
    // 22 three-byte characters are 66 bytes: over the API's 64-byte limit.
    ['管'.repeat(22), 'validation.usernameInvalid'],
  ])('username %j', (name, key) => {
    expect(validateUsername(name)?.key).toBe(key);
  });

  it.each([
    ['correct horse', undefined],
    ['', 'validation.passwordRequired'],
    ['short', 'validation.passwordTooShort'],
    // Eight characters, even though some take several bytes.
    ['密码密码密码密码', undefined],
    ['x'.repeat(72), undefined],
    ['x'.repeat(73), 'validation.passwordTooLong'],
    // 25 three-byte characters: 25 characters but 75 bytes.
    ['密'.repeat(25), 'validation.passwordTooLong'],
  ])('password %j', (password, key) => {
    expect(validatePassword(password)?.key).toBe(key);
  });

  it('says how long passwords must be and how long this one is', () => {
    expect(validatePassword('short')?.vars).toEqual({ min: 8 });
    expect(validatePassword('密'.repeat(25))?.vars).toEqual({ bytes: 75 });
  });

  it('checks the repeated password', () => {
    expect(validatePasswordRepeat('correct horse', 'correct horse')).toBeUndefined();
    expect(validatePasswordRepeat('correct horse', 'correct hose')?.key).toBe(
      'validation.passwordsDiffer',
    );
    expect(validatePasswordRepeat('correct horse', '')?.key).toBe('validation.passwordRequired');
  });

  it('refuses a new password equal to the current one', () => {
    expect(validateNewPassword('old password', 'old password')?.key).toBe(
      'validation.newPasswordSame',
    );
    expect(validateNewPassword('old password', 'new password')).toBeUndefined();
    expect(validateNewPassword('old password', 'short')?.key).toBe('validation.passwordTooShort');
  });
});
