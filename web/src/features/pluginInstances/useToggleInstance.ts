import { useMutation, useQueryClient } from '@tanstack/react-query';
import { App } from 'antd';
import { queryKeys, useApi } from '../../api/context';
import type { PluginInstance } from '../../api/types';
import { useI18n } from '../../i18n/context';
import { describeError } from '../../lib/errors';

/** useToggleInstance enables or disables an instance in place. */
export function useToggleInstance() {
  const { t } = useI18n();
  const api = useApi();
  const queryClient = useQueryClient();
  const { message } = App.useApp();
  return useMutation({
    mutationFn: (v: { instance: PluginInstance; enabled: boolean }) =>
      api.pluginInstances.update(v.instance.name, { ...v.instance, enabled: v.enabled }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: queryKeys.pluginInstances }),
    onError: (err) => void message.error(describeError(err, t).message, 8),
  });
}
