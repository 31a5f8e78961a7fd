import { isApiError } from '../api/client';
import type { ApiErrorDetail } from '../api/types';

/** Errors to set on form fields, in the shape antd's Form.setFields takes. */
export interface FieldErrors {
  name: string;
  errors: string[];
}

/**
 * splitFieldErrors sorts the field details of an API error into those that
 * belong to a field of the form (shown under that field) and the rest
 * (shown with the error message). Field paths such as "user.password" match
 * a form field named by their last segment only when no exact match exists.
 */
export function splitFieldErrors(
  err: unknown,
  formFields: readonly string[],
): { fields: FieldErrors[]; rest: ApiErrorDetail[] } {
  if (!isApiError(err)) return { fields: [], rest: [] };
  const byField = new Map<string, string[]>();
  const rest: ApiErrorDetail[] = [];
  for (const d of err.details) {
    const name = matchField(d.field, formFields);
    if (name === undefined) {
      rest.push(d);
      continue;
    }
    const list = byField.get(name) ?? [];
    list.push(d.message);
    byField.set(name, list);
  }
  return {
    fields: [...byField].map(([name, errors]) => ({ name, errors })),
    rest,
  };
}

function matchField(field: string, formFields: readonly string[]): string | undefined {
  if (formFields.includes(field)) return field;
  const last = field.split('.').pop();
  return last !== undefined && formFields.includes(last) ? last : undefined;
}
