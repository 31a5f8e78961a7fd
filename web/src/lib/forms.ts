import type { FormInstance } from 'antd';
import type { RuleObject } from 'antd/es/form';
import { useState } from 'react';
import { isApiError } from '../api/client';
import type { ApiErrorDetail } from '../api/types';
import type { Translate } from '../i18n/context';
import { placeFieldErrors } from './fieldPath';
import { splitFieldErrors } from './formErrors';
import type { Problem } from './validation';

/**
 * rule adapts a validation check to an antd Form rule, translated. The check
 * takes what its field holds (text, a number, a list).
 */
export function rule(t: Translate, check: (value: never) => Problem | undefined): RuleObject {
  // antd hands the field's value untyped; the check's own type says what it is.
  const run = check as (value: unknown) => Problem | undefined;
  return {
    validator: (_, value: unknown) => {
      const p = run(value);
      return p ? Promise.reject(new Error(t(p.key, p.vars))) : Promise.resolve();
    },
  };
}

/** A submit failure to show above a form, minus what is shown under fields. */
export interface FormFailure {
  error: unknown;
  details: ApiErrorDetail[];
}

/**
 * useFormFailure puts an API error's field details under the matching form
 * fields and keeps the rest for an alert. The alert is skipped when every
 * detail found its field: the fields already say everything.
 */
export function useFormFailure(form: FormInstance, fields: readonly string[]) {
  const [failure, setFailure] = useState<FormFailure | null>(null);
  return {
    failure,
    clear: () => setFailure(null),
    report: (err: unknown) => {
      const { fields: placed, rest } = splitFieldErrors(err, fields);
      form.setFields(placed);
      setFailure(placed.length > 0 && rest.length === 0 ? null : { error: err, details: rest });
    },
  };
}

/**
 * useObjectFormFailure reports a failed save of a configuration object on
 * its form: field details go under the registered fields they name (nested
 * paths such as "endpoints[0].url" included), the rest into an alert, and a
 * stale version (409 "version_conflict") into `conflict`, so the form can
 * offer to reload instead of repeating the error.
 */
export function useObjectFormFailure(form: FormInstance) {
  const [failure, setFailure] = useState<FormFailure | null>(null);
  const [conflict, setConflict] = useState(false);
  return {
    failure,
    conflict,
    clear: () => {
      setFailure(null);
      setConflict(false);
    },
    /**
     * report shows err; `details`, when given, replaces the error's field
     * details (the caller showed the others elsewhere).
     */
    report: (err: unknown, details?: ApiErrorDetail[]) => {
      if (isApiError(err, 'version_conflict')) {
        setConflict(true);
        setFailure(null);
        return;
      }
      const all = isApiError(err) ? err.details : [];
      const mine = details ?? all;
      const registered = form.getFieldsError().map((f) => f.name);
      const { fields, rest } = placeFieldErrors(mine, registered);
      form.setFields(fields.map((f) => ({ name: f.name, errors: f.errors })));
      if (fields.length > 0) {
        form.scrollToField(fields[0]?.name ?? [], { block: 'center' });
      }
      // No alert when every detail found a place: the fields say it all.
      const shownElsewhere = all.length > 0 && rest.length === 0;
      setFailure(shownElsewhere ? null : { error: err, details: rest });
    },
  };
}
