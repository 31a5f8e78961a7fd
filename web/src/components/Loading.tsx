import { Flex, Spin } from 'antd';
import { useI18n } from '../i18n/context';

/** Loading fills its area with a spinner and an accessible label. */
export function Loading({ fullPage = false }: { fullPage?: boolean }) {
  const { t } = useI18n();
  return (
    <Flex
      justify="center"
      align="center"
      style={{ minHeight: fullPage ? '100vh' : 240 }}
      role="status"
      aria-live="polite"
    >
      <Spin description={t('common.loading')} />
    </Flex>
  );
}
