import { Alert, Typography } from 'antd';
import type { RedisDiagnosis } from '../../api/types';
import { useI18n } from '../../i18n/context';
import { explainDiagnosis, formatLatency } from './diagnosis';

/** DiagnosisAlert shows the outcome of a Redis connection test in plain words, with what to check. */
export function DiagnosisAlert({ diagnosis: d }: { diagnosis: RedisDiagnosis }) {
  const { t } = useI18n();
  const { title, advice } = explainDiagnosis(d);
  return (
    <Alert
      data-testid="redis-diagnosis"
      type={d.ok ? 'success' : 'error'}
      showIcon
      role={d.ok ? 'status' : 'alert'}
      title={t(title)}
      description={
        <>
          {d.ok ? (
            <div>
              {t('redis.diagOk', {
                version: d.serverVersion ?? '?',
                mode: d.mode ?? '?',
                latency: formatLatency(d.latencyMs),
              })}
            </div>
          ) : (
            <div>{t(advice)}</div>
          )}
          {!d.ok && d.message && (
            <div style={{ marginTop: 8 }}>
              <Typography.Text strong>{t('redis.diagDetails')} </Typography.Text>
              <span style={{ wordBreak: 'break-word' }}>{d.message}</span>
            </div>
          )}
          {!d.ok && d.hint && (
            <div style={{ marginTop: 4 }}>
              <Typography.Text strong>{t('redis.diagHint')} </Typography.Text>
              {d.hint}
            </div>
          )}
        </>
      }
    />
  );
}
