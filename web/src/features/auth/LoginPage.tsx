import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Form, Input } from 'antd';
import { useState } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { isApiError } from '../../api/client';
import { queryKeys, useApi } from '../../api/context';
import type { Credentials } from '../../api/types';
import { safeNext } from '../../app/paths';
import { ErrorAlert } from '../../components/ErrorAlert';
import { Loading } from '../../components/Loading';
import { useI18n } from '../../i18n/context';
import { rule, useFormFailure } from '../../lib/forms';
import { useCountdown, type CountdownStart } from '../../lib/useCountdown';
import { validateUsername } from '../../lib/validation';
import { AuthLayout } from './AuthLayout';

const fields = ['username', 'password'] as const;

/** LoginPage signs an administrator in and returns to the page they came from. */
export function LoginPage() {
  const { t } = useI18n();
  const api = useApi();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [form] = Form.useForm<Credentials>();
  const failure = useFormFailure(form, fields);
  const [lock, setLock] = useState<CountdownStart | null>(null);
  const secondsLeft = useCountdown(lock);

  const status = useQuery({
    queryKey: queryKeys.authStatus,
    queryFn: ({ signal }) => api.authStatus(signal),
  });
  const login = useMutation({
    mutationFn: (c: Credentials) => api.login(c),
    onSuccess: async () => {
      // A new session: nothing cached from a previous one may show.
      queryClient.clear();
      await navigate(safeNext(params.get('next')), { replace: true });
    },
    onError: (err) => {
      if (isApiError(err, 'too_many_attempts')) {
        setLock((prev) => ({ id: (prev?.id ?? 0) + 1, seconds: err.retryAfterSeconds ?? 30 }));
      }
      failure.report(err);
    },
  });

  if (status.isPending) return <Loading fullPage />;
  if (status.data?.initialized === false) return <Navigate to="/setup" replace />;

  const locked = secondsLeft > 0;
  const lockedFailure = failure.failure && isApiError(failure.failure.error, 'too_many_attempts');

  return (
    <AuthLayout title={t('auth.loginTitle')} intro={t('auth.loginIntro')}>
      {status.isError && <ErrorAlert error={status.error} onRetry={() => void status.refetch()} />}
      {params.get('expired') === '1' && !failure.failure && (
        <Alert type="info" showIcon title={t('auth.sessionExpired')} style={{ marginBottom: 16 }} />
      )}
      {failure.failure && (
        <div style={{ marginBottom: 16 }}>
          {lockedFailure ? (
            locked && (
              <Alert
                type="error"
                showIcon
                role="alert"
                title={t('auth.tooManyAttempts', { seconds: secondsLeft })}
              />
            )
          ) : (
            <ErrorAlert error={failure.failure.error} details={failure.failure.details} />
          )}
        </div>
      )}
      <Form
        form={form}
        layout="vertical"
        requiredMark={false}
        onFinish={(values) => {
          failure.clear();
          login.mutate(values);
        }}
      >
        <Form.Item name="username" label={t('auth.username')} rules={[rule(t, validateUsername)]}>
          <Input autoComplete="username" autoFocus />
        </Form.Item>
        <Form.Item
          name="password"
          label={t('auth.password')}
          rules={[{ required: true, message: t('validation.passwordRequired') }]}
        >
          <Input.Password autoComplete="current-password" />
        </Form.Item>
        <Button type="primary" htmlType="submit" block loading={login.isPending} disabled={locked}>
          {t('auth.login')}
        </Button>
      </Form>
    </AuthLayout>
  );
}
