import type { JSONSchema } from '../api/types';
import type { MessageKey, MessageVars } from '../i18n/context';
import type { NamePath } from './fieldPath';

// A small JSON Schema (draft 2020-12) reader for the console's generated
// forms: the plugins' config schemas and MCP tools' input schemas. It
// covers what those schemas use — types, required, enum/const, string,
// number and array bounds, patterns, additionalProperties, if/then/else,
// not, contains, allOf/anyOf/oneOf — and leaves the rest to the server,
// which validates every change again.

/** A schema problem at a path inside the value. */
export interface SchemaProblem {
  path: NamePath;
  key: MessageKey;
  vars?: MessageVars;
}

/** The JSON type of a value, in JSON Schema's words. */
export function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v; // string, boolean, object
}

/**
 * schemaType is the one type a form field should edit: the schema's type
 * (the first non-null one of a list), else what enum, properties or items
 * imply; undefined when the schema does not say.
 */
export function schemaType(s: JSONSchema): string | undefined {
  if (typeof s.type === 'string') return s.type;
  if (Array.isArray(s.type)) return s.type.find((t) => t !== 'null');
  if (s.properties) return 'object';
  if (s.items) return 'array';
  if (s.enum && s.enum.length > 0) {
    const t = jsonType(s.enum[0]);
    return t === 'integer' ? 'number' : t;
  }
  return undefined;
}

/** deepEqual compares JSON values. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao);
  const bk = Object.keys(bo);
  return ak.length === bk.length && ak.every((k) => k in bo && deepEqual(ao[k], bo[k]));
}

/** isObject tells a JSON object from arrays and null. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeMatches(type: string, v: unknown): boolean {
  const actual = jsonType(v);
  if (type === 'number') return actual === 'number' || actual === 'integer';
  return actual === type;
}

const patternCache = new Map<string, RegExp | null>();

function compilePattern(p: string): RegExp | null {
  let re = patternCache.get(p);
  if (re === undefined) {
    try {
      re = new RegExp(p, 'u');
    } catch {
      // A pattern JavaScript cannot read (RE2 syntax) is left to the server.
      re = null;
    }
    patternCache.set(p, re);
  }
  return re;
}

function show(v: unknown): string {
  return typeof v === 'string' ? `"${v}"` : JSON.stringify(v);
}

/**
 * validateSchema checks value against schema and returns every problem,
 * each at the path of the value it concerns (a missing required property
 * at the property's own path). An undefined value is "absent": only its
 * parent's `required` can complain about it.
 */
export function validateSchema(schema: JSONSchema, value: unknown): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  check(schema, value, [], out);
  return out;
}

/** matchesSchema tells whether value satisfies schema. */
export function matchesSchema(schema: JSONSchema, value: unknown): boolean {
  return validateSchema(schema, value).length === 0;
}

function check(s: JSONSchema, v: unknown, path: NamePath, out: SchemaProblem[]): void {
  if (v === undefined) return;
  const add = (key: MessageKey, vars?: MessageVars, at: NamePath = path) =>
    out.push(vars ? { path: at, key, vars } : { path: at, key });

  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if (!types.some((t) => typeMatches(t, v))) {
      add('schema.type', { type: types.join(' | ') });
      return;
    }
  }
  if (s.const !== undefined && !deepEqual(s.const, v))
    add('schema.const', { value: show(s.const) });
  if (s.enum && !s.enum.some((e) => deepEqual(e, v))) {
    add('schema.enum', { values: s.enum.map(show).join(', ') });
  }

  if (typeof v === 'string') {
    const length = Array.from(v).length;
    if (s.minLength !== undefined && length < s.minLength) {
      add(length === 0 ? 'schema.required' : 'schema.minLength', { n: s.minLength });
    }
    if (s.maxLength !== undefined && length > s.maxLength)
      add('schema.maxLength', { n: s.maxLength });
    if (s.pattern !== undefined) {
      const re = compilePattern(s.pattern);
      if (re && !re.test(v)) add('schema.pattern', { pattern: s.pattern });
    }
  }

  if (typeof v === 'number') {
    if (s.minimum !== undefined && v < s.minimum) add('schema.minimum', { n: s.minimum });
    if (s.maximum !== undefined && v > s.maximum) add('schema.maximum', { n: s.maximum });
    if (s.exclusiveMinimum !== undefined && v <= s.exclusiveMinimum) {
      add('schema.exclusiveMinimum', { n: s.exclusiveMinimum });
    }
    if (s.exclusiveMaximum !== undefined && v >= s.exclusiveMaximum) {
      add('schema.exclusiveMaximum', { n: s.exclusiveMaximum });
    }
  }

  if (Array.isArray(v)) {
    if (s.minItems !== undefined && v.length < s.minItems)
      add('schema.minItems', { n: s.minItems });
    if (s.maxItems !== undefined && v.length > s.maxItems)
      add('schema.maxItems', { n: s.maxItems });
    if (s.uniqueItems) {
      for (let i = 1; i < v.length; i++) {
        if (v.slice(0, i).some((x) => deepEqual(x, v[i]))) {
          add('schema.uniqueItems', { value: show(v[i]) }, [...path, i]);
        }
      }
    }
    if (s.items) {
      const items = s.items;
      v.forEach((x, i) => check(items, x, [...path, i], out));
    }
    if (s.contains && !v.some((x) => s.contains && matchesSchema(s.contains, x))) {
      add('schema.contains');
    }
  }

  if (isObject(v)) {
    for (const k of s.required ?? []) {
      if (v[k] === undefined) add('schema.required', undefined, [...path, k]);
    }
    for (const [k, ps] of Object.entries(s.properties ?? {})) {
      check(ps, v[k], [...path, k], out);
    }
    if (s.additionalProperties !== undefined && s.additionalProperties !== true) {
      const known = new Set(Object.keys(s.properties ?? {}));
      for (const k of Object.keys(v)) {
        if (known.has(k) || v[k] === undefined) continue;
        if (s.additionalProperties === false) add('schema.additional', { field: k }, [...path, k]);
        else check(s.additionalProperties, v[k], [...path, k], out);
      }
    }
  }

  for (const sub of s.allOf ?? []) check(sub, v, path, out);
  if (s.anyOf && !s.anyOf.some((sub) => matchesSchema(sub, v))) add('schema.anyOf');
  if (s.oneOf && s.oneOf.filter((sub) => matchesSchema(sub, v)).length !== 1) add('schema.anyOf');
  if (s.if) {
    const branch = matchesSchema(s.if, v) ? s.then : s.else;
    if (branch) check(branch, v, path, out);
  }
  if (s.not && matchesSchema(s.not, v)) notProblem(s.not, v, path, out);
}

// notProblem explains a failed "not" in the words its common shapes mean:
// not.required (the field is not used here) and not.contains.const (the
// list must not hold that value).
function notProblem(not: JSONSchema, v: unknown, path: NamePath, out: SchemaProblem[]): void {
  const onlyRequired = not.required && Object.keys(not).length === 1;
  if (onlyRequired && isObject(v)) {
    for (const k of not.required ?? []) {
      out.push({ path: [...path, k], key: 'schema.notAllowed' });
    }
    return;
  }
  if (not.contains?.const !== undefined && Object.keys(not).length === 1) {
    out.push({ path, key: 'schema.notContains', vars: { value: show(not.contains.const) } });
    return;
  }
  out.push({ path, key: 'schema.not' });
}

/**
 * fieldPaths lists the paths a generated form shows a field for, given the
 * current value: every property of every object (recursively), every item
 * of arrays of objects, and arrays of plain values as one field.
 */
export function fieldPaths(schema: JSONSchema, value: unknown, path: NamePath = []): NamePath[] {
  const out: NamePath[] = [];
  const t = schemaType(schema);
  if (t === 'object' && schema.properties) {
    const obj = isObject(value) ? value : {};
    for (const [k, ps] of Object.entries(schema.properties)) {
      const sub = [...path, k];
      out.push(sub);
      out.push(...fieldPaths(ps, obj[k], sub).filter((p) => p.length > sub.length));
    }
  } else if (t === 'array' && schema.items && schemaType(schema.items) === 'object') {
    const items = schema.items;
    if (Array.isArray(value)) {
      value.forEach((x, i) => out.push(...fieldPaths(items, x, [...path, i])));
    }
  }
  return out;
}

/**
 * setAt returns a copy of root with the value at path replaced; undefined
 * removes an object's property, so that forms never send "absent" as a key.
 * Missing objects and arrays on the way are created.
 */
export function setAt(root: unknown, path: NamePath, value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (typeof head === 'number') {
    const arr = Array.isArray(root) ? [...(root as unknown[])] : [];
    arr[head] = setAt(arr[head], rest, value);
    return arr;
  }
  const obj: Record<string, unknown> = isObject(root) ? root : {};
  const next = setAt(obj[head as string], rest, value);
  return Object.fromEntries(
    [...Object.entries(obj).filter(([k]) => k !== head), [head as string, next]].filter(
      ([, v]) => v !== undefined,
    ),
  );
}

/** getAt reads the value at a path, undefined when any step is missing. */
export function getAt(root: unknown, path: NamePath): unknown {
  let v = root;
  for (const p of path) {
    if (typeof p === 'number') v = Array.isArray(v) ? (v as unknown[])[p] : undefined;
    else v = isObject(v) ? v[p] : undefined;
  }
  return v;
}

/**
 * defaultsOf returns the defaults a schema gives for its top-level
 * properties: the starting arguments of a tool's input form.
 */
export function defaultsOf(schema: JSONSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, ps] of Object.entries(schema.properties ?? {})) {
    if (ps.default !== undefined) out[k] = ps.default;
  }
  return out;
}
