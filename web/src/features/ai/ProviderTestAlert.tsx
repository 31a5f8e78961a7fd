import { Alert, Flex, Tag, Typography } from 'antd';
import type { ProviderTestResult } from '../../api/types';
import { useI18n } from '../../i18n/context';
import { formatLatency } from '../redis/diagnosis';
import { explainProviderTest, providerTypeLabels } from './providerForm';

const shownModels = 40;

/** ProviderTestAlert explains the outcome of a provider test in plain words, with what to check. */
export function ProviderTestAlert({
  result: r,
  type,
}: {
  result: ProviderTestResult;
  type: string;
}) {
  const { t } = useI18n();
  const { title, advice } = explainProviderTest(r);
  const models = r.models ?? [];
  return (
    <Alert
      data-testid="provider-test-result"
      type={r.ok ? 'success' : 'error'}
      showIcon
      role={r.ok ? 'status' : 'alert'}
      title={t(title)}
      description={
        <Flex vertical gap={6}>
          <div>{t(advice, { type: providerTypeLabels[type] ?? type })}</div>
          {r.latencyMs !== undefined && (
            <Typography.Text type="secondary">
              {t('ai.providers.latency', { ms: formatLatency(r.latencyMs) })}
            </Typography.Text>
          )}
          {!r.ok && r.message !== '' && (
            <div>
              <Typography.Text strong>{t('ai.providers.details')} </Typography.Text>
              <span style={{ wordBreak: 'break-word' }}>{r.message}</span>
            </div>
          )}
          {models.length > 0 && (
            <div>
              <Typography.Text strong>
                {t('ai.providers.models', { n: models.length })}
              </Typography.Text>
              <Flex wrap gap={4} style={{ marginTop: 4 }}>
                {models.slice(0, shownModels).map((m) => (
                  <Tag key={m} className="gh-mono">
                    {m}
                  </Tag>
                ))}
                {models.length > shownModels && <Tag>+{models.length - shownModels}</Tag>}
              </Flex>
            </div>
          )}
        </Flex>
      }
    />
  );
}
