import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { FormInstance } from 'antd';
import { isApiError, type ResourceClient } from '../api/client';
import type { ApiErrorDetail } from '../api/types';
import { useObjectFormFailure } from './forms';

interface Named {
  name: string;
  version?: number;
}

/**
 * useObjectSave saves a configuration object from its form: POST when
 * creating, PUT (with the version read) when editing; refreshes the lists
 * under `queryKey`; puts the API's field errors under the form's fields and
 * reports stale versions as a conflict. `problems` are the props of the
 * FormProblems above the form: the failure, or the conflict with a Reload
 * button that fetches the stored object again and hands it to `onReloaded`
 * (which puts it back into the form, with its version).
 */
export function useObjectSave<T extends Named>(opts: {
  client: ResourceClient<T>;
  queryKey: readonly unknown[];
  form: FormInstance;
  /** The name of the object being edited; undefined when creating. */
  editing: string | undefined;
  onSaved: (saved: T) => void;
  /**
   * claimDetails takes the field details the caller shows itself (a config
   * editor beside the form) and returns the others.
   */
  claimDetails?: (details: ApiErrorDetail[]) => ApiErrorDetail[];
  /** onReloaded takes the stored object after a conflict's Reload. */
  onReloaded?: (fresh: T) => void;
}) {
  const { client, queryKey, form, editing, onSaved, claimDetails, onReloaded } = opts;
  const queryClient = useQueryClient();
  const failure = useObjectFormFailure(form);
  const mutation = useMutation({
    mutationFn: (obj: T) =>
      editing === undefined ? client.create(obj) : client.update(editing, obj),
    onMutate: () => failure.clear(),
    onSuccess: async (saved) => {
      await queryClient.invalidateQueries({ queryKey });
      onSaved(saved);
    },
    onError: (err) =>
      failure.report(err, claimDetails && isApiError(err) ? claimDetails(err.details) : undefined),
  });
  const reload = async (): Promise<T | undefined> => {
    if (editing === undefined) return undefined;
    const fresh = await client.get(editing);
    failure.clear();
    void queryClient.invalidateQueries({ queryKey });
    return fresh;
  };
  return {
    save: (obj: T) => mutation.mutate(obj),
    saving: mutation.isPending,
    failure: failure.failure,
    conflict: failure.conflict,
    clear: failure.clear,
    reload,
    /** The props of FormProblems: `<FormProblems {...saver.problems} />`. */
    problems: {
      failure: failure.failure,
      conflict: failure.conflict,
      onReload: () =>
        void reload().then((fresh) => {
          if (fresh) onReloaded?.(fresh);
        }),
    },
  };
}
