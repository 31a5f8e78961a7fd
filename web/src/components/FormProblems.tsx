import { Alert, Button } from 'antd';
import { useI18n } from '../i18n/context';
import type { FormFailure } from '../lib/forms';
import { ErrorAlert } from './ErrorAlert';

/**
 * FormProblems shows what a failed save left to say above a form: a
 * version conflict with a Reload button, or the error and the details no
 * field took.
 */
export function FormProblems({
  failure,
  conflict,
  onReload,
}: {
  failure: FormFailure | null;
  conflict: boolean;
  onReload?: () => void;
}) {
  const { t } = useI18n();
  if (conflict) {
    return (
      <Alert
        type="warning"
        showIcon
        role="alert"
        style={{ marginBottom: 16 }}
        title={t('config.conflict')}
        description={t('config.conflictHint')}
        action={
          onReload && (
            <Button size="small" onClick={onReload}>
              {t('common.reload')}
            </Button>
          )
        }
      />
    );
  }
  if (!failure) return null;
  return (
    <div style={{ marginBottom: 16 }}>
      <ErrorAlert error={failure.error} details={failure.details} />
    </div>
  );
}
