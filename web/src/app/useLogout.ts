import { useMutation, useQueryClient } from '@tanstack/react-query';
import { App } from 'antd';
import { useNavigate } from 'react-router';
import { isApiError } from '../api/client';
import { useApi } from '../api/context';
import { useI18n } from '../i18n/context';
import { describeError } from '../lib/errors';

/** useLogout ends the session, forgets every cached answer and opens the login page. */
export function useLogout() {
  const api = useApi();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const { message } = App.useApp();
  const { t } = useI18n();
  const done = () => {
    queryClient.clear();
    void navigate('/login', { replace: true });
  };
  return useMutation({
    mutationFn: () => api.logout(),
    onSuccess: done,
    onError: (err) => {
      // Already signed out on the server: same outcome.
      if (isApiError(err) && err.status === 401) {
        done();
        return;
      }
      void message.error(describeError(err, t).message);
    },
  });
}
