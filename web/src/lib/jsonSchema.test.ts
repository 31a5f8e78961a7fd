import { describe, expect, it } from 'vitest';
import type { JSONSchema } from '../api/types';
import { pluginSchema } from '../test/pluginSchemas';
import {
  defaultsOf,
  fieldPaths,
  getAt,
  matchesSchema,
  schemaType,
  setAt,
  validateSchema,
  type SchemaProblem,
} from './jsonSchema';

const brief = (ps: SchemaProblem[]) => ps.map((p) => `${p.path.join('.')}:${p.key}`);

describe('validateSchema with the shipped plugin schemas', () => {
  const keyAuth = pluginSchema('key-auth');
  const cors = pluginSchema('cors');
  const rateLimit = pluginSchema('cluster-rate-limit');

  it('accepts a valid key-auth config and names every problem of a bad one', () => {
    expect(
      validateSchema(keyAuth, {
        consumers: [{ name: 'alice', key: 'k'.repeat(24) }],
        keys: ['x-api-key'],
      }),
    ).toEqual([]);
    expect(
      brief(
        validateSchema(keyAuth, {
          consumers: [{ name: 'alice', key: 'short' }, { key: 'with space key 123456' }],
          inHeader: 'yes',
          extra: 1,
        }),
      ),
    ).toEqual([
      'consumers.0.key:schema.minLength',
      'consumers.1.name:schema.required',
      'consumers.1.key:schema.pattern',
      'inHeader:schema.type',
      'extra:schema.additional',
    ]);
  });

  it('requires consumers, reported at the missing field', () => {
    expect(brief(validateSchema(keyAuth, {}))).toEqual(['consumers:schema.required']);
    expect(brief(validateSchema(keyAuth, { consumers: [] }))).toEqual([
      'consumers:schema.minItems',
    ]);
  });

  it('applies cors if/then: no "*" origin with credentials', () => {
    expect(validateSchema(cors, { allowOrigins: ['*'] })).toEqual([]);
    expect(validateSchema(cors, { allowOrigins: ['*'], allowCredentials: true })).toEqual([
      { path: ['allowOrigins'], key: 'schema.notContains', vars: { value: '"*"' } },
    ]);
    expect(brief(validateSchema(cors, { allowOrigins: ['a', 'a'], maxAge: 90000 }))).toEqual([
      'allowOrigins.1:schema.uniqueItems',
      'maxAge:schema.maximum',
    ]);
  });

  it('applies cluster-rate-limit if/then/else on headerName', () => {
    const base = { ruleName: 'r1', requests: 10, window: '1m' };
    expect(validateSchema(rateLimit, base)).toEqual([]);
    expect(brief(validateSchema(rateLimit, { ...base, limitBy: 'header' }))).toEqual([
      'headerName:schema.required',
    ]);
    expect(validateSchema(rateLimit, { ...base, limitBy: 'header', headerName: 'x-user' })).toEqual(
      [],
    );
    expect(brief(validateSchema(rateLimit, { ...base, headerName: 'x-user' }))).toEqual([
      'headerName:schema.notAllowed',
    ]);
    expect(
      brief(validateSchema(rateLimit, { ...base, window: 'a minute', limitBy: 'ip' })),
    ).toEqual(['limitBy:schema.enum', 'window:schema.pattern']);
  });
});

describe('schema helpers', () => {
  it('infers the type a field edits', () => {
    expect(schemaType({ type: ['null', 'integer'] })).toBe('integer');
    expect(schemaType({ enum: ['a', 'b'] })).toBe('string');
    expect(schemaType({ properties: {} })).toBe('object');
    expect(schemaType({})).toBeUndefined();
  });

  it('treats integers as numbers but not the other way round', () => {
    expect(matchesSchema({ type: 'number' }, 3)).toBe(true);
    expect(matchesSchema({ type: 'integer' }, 3.5)).toBe(false);
    expect(matchesSchema({ anyOf: [{ type: 'string' }, { type: 'boolean' }] }, 1)).toBe(false);
  });

  it('sets and removes values without touching the original', () => {
    const root = { a: { b: 1 }, list: [{ x: 1 }] };
    const next = setAt(root, ['list', 1, 'x'], 2);
    expect(next).toEqual({ a: { b: 1 }, list: [{ x: 1 }, { x: 2 }] });
    expect(root.list).toHaveLength(1);
    expect(setAt(root, ['a', 'b'], undefined)).toEqual({ a: {}, list: [{ x: 1 }] });
    expect(getAt(next, ['list', 1, 'x'])).toBe(2);
    expect(getAt(next, ['nope', 0])).toBeUndefined();
  });

  it('lists the fields a form shows, items of object lists included', () => {
    const s: JSONSchema = {
      type: 'object',
      properties: {
        consumers: { type: 'array', items: { type: 'object', properties: { name: {}, key: {} } } },
        keys: { type: 'array', items: { type: 'string' } },
      },
    };
    expect(fieldPaths(s, { consumers: [{}, {}] })).toEqual([
      ['consumers'],
      ['consumers', 0, 'name'],
      ['consumers', 0, 'key'],
      ['consumers', 1, 'name'],
      ['consumers', 1, 'key'],
      ['keys'],
    ]);
  });

  it('starts tool arguments from the schema defaults', () => {
    expect(
      defaultsOf({
        type: 'object',
        properties: {
          timeZone: { type: 'string', default: 'Asia/Shanghai' },
          n: { type: 'integer' },
        },
      }),
    ).toEqual({ timeZone: 'Asia/Shanghai' });
  });
});
