import { Button, Popconfirm, Space, Tag, Typography } from 'antd';
import type { Consumer } from '../../api/types';
import { useI18n } from '../../i18n/context';
import { keyExpired } from './consumerForm';

/** ConsumerKeys lists a consumer's keys (hint and expiry) with a revoke button each. */
export function ConsumerKeys({
  consumer,
  now,
  onRevoke,
}: {
  consumer: Consumer;
  now: number;
  onRevoke: (id: string) => Promise<void>;
}) {
  const { t } = useI18n();
  if (consumer.credentials.length === 0) {
    return <Typography.Text type="secondary">{t('ai.consumers.noKeys')}</Typography.Text>;
  }
  return (
    <Space orientation="vertical" size={4}>
      {consumer.credentials.map((cr) => (
        <Space key={cr.id} data-testid={`consumer-key-${cr.id ?? ''}`}>
          <Typography.Text className="gh-mono">{cr.hint ?? cr.id}</Typography.Text>
          {cr.expiresAt ? (
            keyExpired(cr.expiresAt, now) ? (
              <Tag color="red">{t('ai.consumers.expired')}</Tag>
            ) : (
              <Typography.Text type="secondary">
                {t('ai.consumers.expiresOn', { date: new Date(cr.expiresAt).toLocaleString() })}
              </Typography.Text>
            )
          ) : (
            <Typography.Text type="secondary">{t('ai.consumers.neverExpires')}</Typography.Text>
          )}
          <Popconfirm
            title={t('ai.consumers.revokeQuestion', { key: cr.hint ?? cr.id ?? '' })}
            okText={t('ai.consumers.revoke')}
            cancelText={t('common.cancel')}
            okButtonProps={{ danger: true }}
            onConfirm={() => onRevoke(cr.id ?? '')}
          >
            <Button size="small" danger>
              {t('ai.consumers.revoke')}
            </Button>
          </Popconfirm>
        </Space>
      ))}
    </Space>
  );
}
