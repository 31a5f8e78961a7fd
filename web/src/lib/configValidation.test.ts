import { describe, expect, it } from 'vitest';
import {
  cleanPath,
  parseDuration,
  validateDomain,
  validateDomains,
  validateDuration,
  validateEndpointURL,
  validateHeaderMatchName,
  validateMCPServerName,
  validateMethods,
  validateName,
  validateRedisAddress,
  validateRoutePath,
  validateWeight,
} from './configValidation';

const key = (p: { key: string } | undefined) => p?.key;

describe('names', () => {
  it.each([
    ['echo', undefined],
    ['echo-v2', undefined],
    ['', 'validation.nameRequired'],
    ['Echo', 'validation.nameInvalid'],
    ['-echo', 'validation.nameInvalid'],
    ['echo_v2', 'validation.nameInvalid'],
    ['a'.repeat(64), 'validation.nameTooLong'],
  ])('name %j', (v, want) => expect(key(validateName(v))).toBe(want));

  it('allows dots and underscores in MCP server names only', () => {
    expect(validateMCPServerName('mcp.time_v1')).toBeUndefined();
    expect(key(validateName('mcp.time_v1'))).toBe('validation.nameInvalid');
  });
});

describe('endpoints', () => {
  it.each([
    ['http://10.0.0.5:8080', undefined],
    ['https://api.example.com/base', undefined],
    ['', 'validation.urlRequired'],
    ['ftp://x', 'validation.urlScheme'],
    ['10.0.0.5:8080', 'validation.urlScheme'],
    ['http://user:pw@x.test', 'validation.urlCredentials'],
    ['http://x.test/?a=1', 'validation.urlQuery'],
    ['http://x.test/#top', 'validation.urlQuery'],
  ])('url %j', (v, want) => expect(key(validateEndpointURL(v))).toBe(want));

  it('accepts weights 0 to 10000', () => {
    expect(validateWeight(undefined)).toBeUndefined();
    expect(validateWeight(10000)).toBeUndefined();
    expect(key(validateWeight(10001))).toBe('validation.weightRange');
    expect(key(validateWeight(1.5))).toBe('validation.weightRange');
  });
});

describe('durations', () => {
  it.each([
    ['30s', 30_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['1.5h', 5_400_000],
    ['0', 0],
    ['30', undefined],
    ['s', undefined],
    ['1d', undefined],
  ])('parses %j as Go does', (v, ms) => expect(parseDuration(v)).toBe(ms));

  it('checks the range and says it in Go units', () => {
    expect(validateDuration('', 100, 3_600_000)).toBeUndefined();
    expect(validateDuration('50ms', 100, 3_600_000)).toEqual({
      key: 'validation.durationRange',
      vars: { min: '100ms', max: '1h' },
    });
    expect(key(validateDuration('soon', 1, 1000))).toBe('validation.durationInvalid');
  });
});

describe('route matches', () => {
  it.each([
    ['api.example.com', undefined],
    ['*.example.com', undefined],
    ['_acme.example.com', undefined],
    ['*', 'validation.domainStar'],
    ['api.example.com:8080', 'validation.domainPort'],
    ['API.example.com', 'validation.domainCase'],
    ['a.*.example.com', 'validation.domainWildcard'],
    ['bad..example.com', 'validation.domainInvalid'],
  ])('domain %j', (v, want) => expect(key(validateDomain(v))).toBe(want));

  it('refuses a domain listed twice', () => {
    expect(validateDomains(['a.test', 'a.test'])).toEqual({
      key: 'validation.domainTwice',
      vars: { domain: 'a.test' },
    });
  });

  it.each([
    ['/a/./b/../c//d/', '/a/c/d/'],
    ['/api', '/api'],
    ['/..', '/'],
  ])('cleans %j like the gateway', (p, want) => expect(cleanPath(p)).toBe(want));

  it('asks for the canonical path, a leading slash and no query', () => {
    expect(validateRoutePath('prefix', '/echo//x')).toEqual({
      key: 'validation.pathCanonical',
      vars: { clean: '/echo/x' },
    });
    expect(key(validateRoutePath('exact', 'echo'))).toBe('validation.pathSlash');
    expect(key(validateRoutePath('exact', '/echo?x=1'))).toBe('validation.pathChars');
    expect(validateRoutePath('regex', '^/users/[0-9]+$')).toBeUndefined();
    expect(key(validateRoutePath('regex', ''))).toBe('validation.regexRequired');
  });

  it('wants upper-case methods, each once, and no Host header match', () => {
    expect(validateMethods(['GET', 'POST'])).toBeUndefined();
    expect(validateMethods(['get'])).toEqual({
      key: 'validation.methodCase',
      vars: { method: 'GET' },
    });
    expect(key(validateMethods(['GET', 'GET']))).toBe('validation.methodTwice');
    expect(key(validateHeaderMatchName('Host'))).toBe('validation.headerHost');
    expect(key(validateHeaderMatchName('x canary'))).toBe('validation.headerNameInvalid');
  });
});

describe('Redis addresses', () => {
  it.each([
    ['redis:6379', undefined],
    ['[::1]:6379', undefined],
    ['redis://redis:6379', 'validation.addressURL'],
    ['redis', 'validation.addressInvalid'],
    ['redis:70000', 'validation.addressInvalid'],
  ])('%j', (v, want) => expect(key(validateRedisAddress(v))).toBe(want));
});
