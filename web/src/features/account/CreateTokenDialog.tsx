import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Form, Input, Modal, Radio, Select, Space, Typography } from 'antd';
import { useState } from 'react';
import { isApiError } from '../../api/client';
import { queryKeys, useApi } from '../../api/context';
import type { CreatedToken, CreateTokenRequest, TokenScope } from '../../api/types';
import { CopyText } from '../../components/CopyText';
import { ErrorAlert } from '../../components/ErrorAlert';
import { useI18n } from '../../i18n/context';

/** Lifetimes offered, as Go durations; "" is a token that does not expire. */
const lifetimes = [
  { value: '720h', label: 'h720' },
  { value: '2160h', label: 'h2160' },
  { value: '8760h', label: 'h8760' },
  { value: 'never', label: 'never' },
] as const;
type Lifetime = (typeof lifetimes)[number]['value'];

interface FormValues {
  name: string;
  scope: TokenScope;
  expiresIn: Lifetime;
}

/**
 * CreateTokenDialog creates an API token and shows its secret once: after
 * closing, the secret is gone from the page (the server never shows it again).
 */
export function CreateTokenDialog({ onClose }: { onClose: () => void }) {
  const { t } = useI18n();
  const api = useApi();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<FormValues>();
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const create = useMutation({
    mutationFn: (req: CreateTokenRequest) => api.createToken(req),
    onSuccess: (tok) => {
      setCreated(tok);
      void queryClient.invalidateQueries({ queryKey: queryKeys.tokens });
    },
  });

  const close = () => {
    // Forget the secret before the dialog goes: nothing keeps it afterwards.
    setCreated(null);
    onClose();
  };

  if (created) {
    return (
      <Modal
        open
        title={t('account.tokens.createdTitle', { name: created.name })}
        onCancel={close}
        mask={{ closable: false }}
        footer={
          <Button type="primary" onClick={close}>
            {t('account.tokens.done')}
          </Button>
        }
      >
        <Space orientation="vertical" size={12} style={{ width: '100%' }}>
          <Alert type="warning" showIcon title={t('account.tokens.shownOnce')} />
          <div data-testid="new-token">
            <CopyText text={created.token} label={t('account.tokens.theToken')} />
          </div>
          <Typography.Text type="secondary">
            {t('account.tokens.usage', { header: 'Authorization: Bearer …' })}
          </Typography.Text>
        </Space>
      </Modal>
    );
  }

  const failure = create.error;
  return (
    <Modal
      open
      title={t('account.tokens.create')}
      okText={t('account.tokens.createSubmit')}
      cancelText={t('common.cancel')}
      onCancel={close}
      onOk={() => form.submit()}
      confirmLoading={create.isPending}
      destroyOnHidden
    >
      {failure && (
        <div style={{ marginBottom: 16 }}>
          <ErrorAlert
            error={failure}
            title={
              isApiError(failure, 'session_required')
                ? t('account.tokens.sessionRequired')
                : undefined
            }
          />
        </div>
      )}
      <Form<FormValues>
        form={form}
        layout="vertical"
        initialValues={{ name: '', scope: 'read', expiresIn: '720h' }}
        onFinish={(v) => {
          // "never" is sent as such: without expiresIn the server applies
          // its default lifetime (GATEHOUSE_API_TOKEN_LIFETIME).
          const req: CreateTokenRequest = {
            name: v.name.trim(),
            scope: v.scope,
            expiresIn: v.expiresIn,
          };
          create.mutate(req);
        }}
      >
        <Form.Item
          name="name"
          label={t('account.tokens.name')}
          extra={t('account.tokens.nameHint')}
          rules={[
            { required: true, whitespace: true, message: t('account.tokens.nameRequired') },
            { max: 64, message: t('account.tokens.nameTooLong') },
          ]}
        >
          <Input autoFocus maxLength={64} />
        </Form.Item>
        <Form.Item name="scope" label={t('account.tokens.scope')}>
          <Radio.Group
            options={[
              { value: 'read', label: t('account.tokens.scopes.read') },
              { value: 'write', label: t('account.tokens.scopes.write') },
            ]}
          />
        </Form.Item>
        <Form.Item name="expiresIn" label={t('account.tokens.expiresIn')}>
          <Select
            aria-label={t('account.tokens.expiresIn')}
            options={lifetimes.map((l) => ({
              value: l.value,
              label: t(`account.tokens.lifetimes.${l.label}`),
            }))}
          />
        </Form.Item>
      </Form>
    </Modal>
  );
}
