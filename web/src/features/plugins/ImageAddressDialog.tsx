import { useMutation, useQueryClient } from '@tanstack/react-query';
import { App, Button, Form, Input, List, Modal, Typography } from 'antd';
import { queryKeys, useApi } from '../../api/context';
import type { ListResponse, Plugin } from '../../api/types';
import { ErrorAlert } from '../../components/ErrorAlert';
import { useI18n } from '../../i18n/context';
import { rule, useFormFailure } from '../../lib/forms';
import { validateImageAddress } from '../../lib/validation';
import { imageAddressExamples } from './examples';

interface Values {
  imageAddress: string;
}

const fields = ['imageAddress'] as const;

/** ImageAddressDialog edits where a plugin's artifact comes from. */
export function ImageAddressDialog({ plugin, onClose }: { plugin: Plugin; onClose: () => void }) {
  const { t } = useI18n();
  const api = useApi();
  const queryClient = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm<Values>();
  const failure = useFormFailure(form, fields);

  const save = useMutation({
    mutationFn: (v: Values) =>
      api.updatePlugin(plugin.name, { imageAddress: v.imageAddress.trim() }),
    onSuccess: (updated) => {
      queryClient.setQueryData<ListResponse<Plugin>>(
        queryKeys.plugins,
        (old) =>
          old && { ...old, items: old.items.map((p) => (p.name === updated.name ? updated : p)) },
      );
      void queryClient.invalidateQueries({ queryKey: queryKeys.plugins });
      void queryClient.invalidateQueries({ queryKey: queryKeys.health });
      if (updated.restartRequired) {
        void message.warning(t('plugins.savedRestart', { name: updated.name }));
      } else {
        void message.success(t('plugins.saved', { name: updated.name }));
      }
      onClose();
    },
    onError: (err) => failure.report(err),
  });

  return (
    <Modal
      open
      title={t('plugins.editTitle', { name: plugin.name })}
      okText={t('common.save')}
      cancelText={t('common.cancel')}
      confirmLoading={save.isPending}
      onOk={() => form.submit()}
      onCancel={onClose}
      destroyOnHidden
      width={640}
    >
      <Typography.Paragraph type="secondary">{t('plugins.editIntro')}</Typography.Paragraph>
      {failure.failure && (
        <div style={{ marginBottom: 16 }}>
          <ErrorAlert error={failure.failure.error} details={failure.failure.details} />
        </div>
      )}
      <Form
        form={form}
        layout="vertical"
        requiredMark={false}
        initialValues={{ imageAddress: plugin.imageAddress }}
        onFinish={(v) => {
          failure.clear();
          save.mutate(v);
        }}
      >
        <Form.Item
          name="imageAddress"
          label={t('plugins.imageAddress')}
          rules={[rule(t, validateImageAddress)]}
        >
          <Input className="gh-mono" autoFocus spellCheck={false} autoComplete="off" />
        </Form.Item>
      </Form>
      <Typography.Text strong>{t('plugins.examples')}</Typography.Text>
      <List
        size="small"
        dataSource={imageAddressExamples(plugin)}
        renderItem={(ex) => (
          <List.Item
            actions={[
              <Button
                key="use"
                size="small"
                onClick={() => form.setFieldsValue({ imageAddress: ex.address })}
              >
                {t('plugins.useExample')}
              </Button>,
            ]}
          >
            <List.Item.Meta
              title={t(ex.key)}
              description={
                <Typography.Text code className="gh-mono" style={{ wordBreak: 'break-all' }}>
                  {ex.address}
                </Typography.Text>
              }
            />
          </List.Item>
        )}
      />
    </Modal>
  );
}
