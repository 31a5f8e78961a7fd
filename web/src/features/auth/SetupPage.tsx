import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Form, Input } from 'antd';
import { Link, Navigate, useNavigate } from 'react-router';
import { isApiError } from '../../api/client';
import { queryKeys, useApi } from '../../api/context';
import { ErrorAlert } from '../../components/ErrorAlert';
import { Loading } from '../../components/Loading';
import { useI18n } from '../../i18n/context';
import { rule, useFormFailure } from '../../lib/forms';
import { validatePassword, validatePasswordRepeat, validateUsername } from '../../lib/validation';
import { AuthLayout } from './AuthLayout';

interface SetupValues {
  username: string;
  password: string;
  confirm: string;
}

const fields = ['username', 'password'] as const;

/**
 * SetupPage creates the first administrator on a fresh Gatehouse and signs
 * them in straight away.
 */
export function SetupPage() {
  const { t } = useI18n();
  const api = useApi();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [form] = Form.useForm<SetupValues>();
  const failure = useFormFailure(form, fields);

  const status = useQuery({
    queryKey: queryKeys.authStatus,
    queryFn: ({ signal }) => api.authStatus(signal),
  });
  const setup = useMutation({
    mutationFn: async ({ username, password }: SetupValues) => {
      await api.initAdmin({ username, password });
      await api.login({ username, password });
    },
    onSuccess: async () => {
      queryClient.clear();
      await navigate('/', { replace: true });
    },
    onError: (err) => failure.report(err),
  });

  if (status.isPending) return <Loading fullPage />;
  if (status.data?.initialized === true) return <Navigate to="/login" replace />;

  const alreadyDone = failure.failure && isApiError(failure.failure.error, 'already_initialized');

  return (
    <AuthLayout title={t('auth.setupTitle')} intro={t('auth.setupIntro')}>
      {status.isError && <ErrorAlert error={status.error} onRetry={() => void status.refetch()} />}
      {failure.failure && (
        <div style={{ marginBottom: 16 }}>
          {alreadyDone ? (
            <Alert
              type="info"
              showIcon
              role="alert"
              title={t('auth.alreadyInitialized')}
              action={<Link to="/login">{t('auth.login')}</Link>}
            />
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
          setup.mutate(values);
        }}
      >
        <Form.Item name="username" label={t('auth.username')} rules={[rule(t, validateUsername)]}>
          <Input autoComplete="username" autoFocus />
        </Form.Item>
        <Form.Item name="password" label={t('auth.password')} rules={[rule(t, validatePassword)]}>
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Form.Item
          name="confirm"
          label={t('auth.confirmPassword')}
          dependencies={['password']}
          rules={[
            ({ getFieldValue }) =>
              rule(t, (v) => validatePasswordRepeat(getFieldValue('password') as string, v)),
          ]}
        >
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Button type="primary" htmlType="submit" block loading={setup.isPending}>
          {t('auth.create')}
        </Button>
      </Form>
    </AuthLayout>
  );
}
