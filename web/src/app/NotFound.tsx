import { Button, Result } from 'antd';
import { Link } from 'react-router';
import { useI18n } from '../i18n/context';

/** NotFound is shown for console paths that match no view. */
export function NotFound() {
  const { t } = useI18n();
  return (
    <Result
      status="404"
      title="404"
      subTitle={t('errors.notFound')}
      extra={
        <Link to="/">
          <Button type="primary">{t('errors.backHome')}</Button>
        </Link>
      }
    />
  );
}
