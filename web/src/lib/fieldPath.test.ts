import { describe, expect, it } from 'vitest';
import { formatFieldPath, parseFieldPath, placeFieldErrors } from './fieldPath';

describe('field paths', () => {
  it.each([
    ['endpoints[0].url', ['endpoints', 0, 'url']],
    ['config.consumers[1].key', ['config', 'consumers', 1, 'key']],
    [
      'tools[2].requestTemplate.headers[0].key',
      ['tools', 2, 'requestTemplate', 'headers', 0, 'key'],
    ],
    ['name', ['name']],
    ['', []],
  ])('parses %s and formats it back', (field, path) => {
    expect(parseFieldPath(field)).toEqual(path);
    expect(formatFieldPath(path)).toBe(field);
  });
});

describe('placeFieldErrors', () => {
  const registered = [
    ['name'],
    ['path', 'type'],
    ['path', 'value'],
    ['domains'],
    ['endpoints', 0, 'url'],
    ['endpoints', 1, 'url'],
  ];

  it('puts each detail under its own field, several under one field together', () => {
    const { fields, rest } = placeFieldErrors(
      [
        { field: 'endpoints[1].url', message: 'no host' },
        { field: 'name', message: 'taken' },
        { field: 'name', message: 'too long' },
      ],
      registered,
    );
    expect(fields).toEqual([
      { name: ['endpoints', 1, 'url'], errors: ['no host'] },
      { name: ['name'], errors: ['taken', 'too long'] },
    ]);
    expect(rest).toEqual([]);
  });

  it('sends a parent path to its first field and an item of a tags input to the input', () => {
    const { fields } = placeFieldErrors(
      [
        { field: 'path', message: 'route "b" matches the same requests' },
        { field: 'domains[1]', message: 'uppercase' },
      ],
      registered,
    );
    expect(fields).toEqual([
      { name: ['path', 'type'], errors: ['route "b" matches the same requests'] },
      { name: ['domains'], errors: ['uppercase'] },
    ]);
  });

  it('keeps what fits no field for the alert, and strips a prefix first', () => {
    const { fields, rest } = placeFieldErrors(
      [
        { field: 'config.keys[0]', message: 'bad header' },
        { field: 'scope.value', message: 'no such route' },
        { field: '', message: 'general' },
      ],
      [['keys']],
      ['config'],
    );
    expect(fields).toEqual([{ name: ['keys'], errors: ['bad header'] }]);
    expect(rest.map((d) => d.field)).toEqual(['scope.value', '']);
  });
});
