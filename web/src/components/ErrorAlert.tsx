import { Alert, Button } from 'antd';
import { useI18n } from '../i18n/context';
import type { ApiErrorDetail } from '../api/types';
import { describeError } from '../lib/errors';

interface ErrorAlertProps {
  error: unknown;
  /** Shows a Retry button when given. */
  onRetry?: () => void;
  /** Overrides the headline, e.g. for a stale-data warning. */
  title?: string;
  type?: 'error' | 'warning';
  /** Replaces the error's field details, e.g. with those not shown under a form field. */
  details?: ApiErrorDetail[];
}

/** ErrorAlert shows a failure as readable text with its field details and request id. */
export function ErrorAlert({ error, onRetry, title, type = 'error', details }: ErrorAlertProps) {
  const { t } = useI18n();
  const described = describeError(error, t);
  const d = details ? { ...described, details } : described;
  const description =
    d.details.length > 0 || d.requestId !== undefined || title !== undefined ? (
      <>
        {title !== undefined && <div>{d.message}</div>}
        {d.details.length > 0 && (
          <ul style={{ margin: 0, paddingInlineStart: 20 }}>
            {d.details.map((x, i) => (
              <li key={`${x.field}-${i}`}>
                {x.field !== '' && <code>{x.field}</code>}
                {x.field !== '' && ': '}
                {x.message}
              </li>
            ))}
          </ul>
        )}
        {d.requestId !== undefined && (
          <div style={{ opacity: 0.75 }}>{t('errors.requestId', { id: d.requestId })}</div>
        )}
      </>
    ) : undefined;
  return (
    <Alert
      type={type}
      showIcon
      role="alert"
      title={title ?? d.message}
      description={description}
      action={
        onRetry && (
          <Button size="small" onClick={onRetry}>
            {t('common.retry')}
          </Button>
        )
      }
    />
  );
}
