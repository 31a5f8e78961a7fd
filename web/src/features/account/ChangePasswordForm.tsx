import { useMutation } from '@tanstack/react-query';
import { App, Button, Form, Input } from 'antd';
import { useApi } from '../../api/context';
import { ErrorAlert } from '../../components/ErrorAlert';
import { useI18n } from '../../i18n/context';
import { rule, useFormFailure } from '../../lib/forms';
import { validateNewPassword, validatePasswordRepeat } from '../../lib/validation';

interface Values {
  currentPassword: string;
  newPassword: string;
  confirm: string;
}

const fields = ['currentPassword', 'newPassword'] as const;

/**
 * ChangePasswordForm changes the signed-in user's password. `username`
 * goes into a hidden field so that password managers know whose it is.
 */
export function ChangePasswordForm({ username }: { username?: string }) {
  const { t } = useI18n();
  const api = useApi();
  const { message } = App.useApp();
  const [form] = Form.useForm<Values>();
  const failure = useFormFailure(form, fields);
  const change = useMutation({
    mutationFn: ({ currentPassword, newPassword }: Values) =>
      api.changePassword({ currentPassword, newPassword }),
    onSuccess: () => {
      form.resetFields();
      void message.success(t('account.changed'));
    },
    onError: (err) => failure.report(err),
  });

  return (
    <>
      {failure.failure && (
        <div style={{ marginBottom: 16 }}>
          <ErrorAlert error={failure.failure.error} details={failure.failure.details} />
        </div>
      )}
      <Form
        form={form}
        layout="vertical"
        requiredMark={false}
        style={{ maxWidth: 420 }}
        onFinish={(v) => {
          failure.clear();
          change.mutate(v);
        }}
      >
        <input
          type="text"
          name="username"
          autoComplete="username"
          value={username ?? ''}
          readOnly
          hidden
        />
        <Form.Item
          name="currentPassword"
          label={t('account.currentPassword')}
          rules={[{ required: true, message: t('validation.passwordRequired') }]}
        >
          <Input.Password autoComplete="current-password" />
        </Form.Item>
        <Form.Item
          name="newPassword"
          label={t('account.newPassword')}
          dependencies={['currentPassword']}
          rules={[
            ({ getFieldValue }) =>
              rule(t, (v) => validateNewPassword(getFieldValue('currentPassword') as string, v)),
          ]}
        >
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Form.Item
          name="confirm"
          label={t('account.confirmNewPassword')}
          dependencies={['newPassword']}
          rules={[
            ({ getFieldValue }) =>
              rule(t, (v) => validatePasswordRepeat(getFieldValue('newPassword') as string, v)),
          ]}
        >
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Button type="primary" htmlType="submit" loading={change.isPending}>
          {t('account.submit')}
        </Button>
      </Form>
    </>
  );
}
