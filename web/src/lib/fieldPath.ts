import type { ApiErrorDetail } from '../api/types';

/** A form field's name path, as antd's Form takes it: ['endpoints', 0, 'url']. */
export type NamePath = (string | number)[];

/**
 * parseFieldPath turns an API field path such as "endpoints[0].url" or
 * "config.consumers[1].key" into a name path. An empty path gives [].
 */
export function parseFieldPath(field: string): NamePath {
  const out: NamePath = [];
  for (const m of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (m[2] !== undefined) out.push(Number(m[2]));
    else if (m[1] !== undefined) out.push(/^\d+$/.test(m[1]) ? Number(m[1]) : m[1]);
  }
  return out;
}

/** formatFieldPath is the inverse of parseFieldPath: ['a', 0, 'b'] → "a[0].b". */
export function formatFieldPath(path: readonly (string | number)[]): string {
  let s = '';
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else s += s === '' ? p : `.${p}`;
  }
  return s;
}

function startsWith(path: NamePath, prefix: NamePath): boolean {
  return prefix.length <= path.length && prefix.every((p, i) => path[i] === p);
}

function same(a: NamePath, b: NamePath): boolean {
  return a.length === b.length && startsWith(a, b);
}

/** A field and the messages to show under it. */
export interface PlacedErrors {
  name: NamePath;
  errors: string[];
}

/**
 * placeFieldErrors sorts the field details of an API error onto the form's
 * registered fields: the field itself when it exists, else its first
 * registered sub-field ("path" → ['path', 'value']), else its nearest
 * registered ancestor ("domains[1]" → ['domains'], a tags input). Details
 * that fit no field come back in `rest`, for an alert above the form.
 * `strip` removes a prefix of the API paths first ("config." for a form that
 * edits only the config).
 */
export function placeFieldErrors(
  details: readonly ApiErrorDetail[],
  registered: readonly NamePath[],
  strip: NamePath = [],
): { fields: PlacedErrors[]; rest: ApiErrorDetail[] } {
  const placed: PlacedErrors[] = [];
  const rest: ApiErrorDetail[] = [];
  for (const d of details) {
    let path = parseFieldPath(d.field);
    if (strip.length > 0) {
      if (!startsWith(path, strip)) {
        rest.push(d);
        continue;
      }
      path = path.slice(strip.length);
    }
    const target =
      path.length === 0
        ? undefined
        : (registered.find((r) => same(r, path)) ??
          registered.find((r) => startsWith(r, path)) ??
          nearestAncestor(path, registered));
    if (target === undefined) {
      rest.push(d);
      continue;
    }
    const existing = placed.find((p) => same(p.name, target));
    if (existing) existing.errors.push(d.message);
    else placed.push({ name: target, errors: [d.message] });
  }
  return { fields: placed, rest };
}

function nearestAncestor(path: NamePath, registered: readonly NamePath[]): NamePath | undefined {
  let best: NamePath | undefined;
  for (const r of registered) {
    if (r.length > 0 && startsWith(path, r) && (best === undefined || r.length > best.length)) {
      best = r;
    }
  }
  return best;
}
