import { Alert, Button, Modal, Space, Typography } from 'antd';
import { CopyText } from '../../components/CopyText';
import { useI18n } from '../../i18n/context';

/**
 * NewKeyDialog shows a consumer's new key, the only time it is ever shown:
 * the server keeps a digest. It closes only on "I have copied it".
 */
export function NewKeyDialog({
  consumer,
  apiKey,
  expiresAt,
  onClose,
}: {
  consumer: string;
  apiKey: string;
  expiresAt?: string | undefined;
  onClose: () => void;
}) {
  const { t } = useI18n();
  return (
    <Modal
      open
      title={t('ai.consumers.newKeyTitle', { name: consumer })}
      closable={false}
      mask={{ closable: false }}
      keyboard={false}
      footer={
        <Button type="primary" onClick={onClose}>
          {t('ai.consumers.newKeyDone')}
        </Button>
      }
    >
      <Space orientation="vertical" style={{ width: '100%' }}>
        <Alert type="warning" showIcon title={t('ai.consumers.newKeyOnce')} />
        <div data-testid="new-consumer-key">
          <CopyText text={apiKey} label={t('ai.consumers.key')} />
        </div>
        <Typography.Text type="secondary">
          {expiresAt
            ? t('ai.consumers.expiresOn', { date: new Date(expiresAt).toLocaleString() })
            : t('ai.consumers.neverExpires')}
        </Typography.Text>
      </Space>
    </Modal>
  );
}
