import { Card, Flex, Typography } from 'antd';
import { useEffect, type ReactNode } from 'react';
import { LanguageSwitch } from '../../components/LanguageSwitch';
import { useI18n } from '../../i18n/context';

/** AuthLayout centres the sign-in and setup forms, with the language switch above. */
export function AuthLayout({
  title,
  intro,
  children,
}: {
  title: string;
  intro: string;
  children: ReactNode;
}) {
  const { t } = useI18n();
  useEffect(() => {
    document.title = `${title} · ${t('common.appName')}`;
  }, [title, t]);
  return (
    <Flex
      vertical
      align="center"
      style={{ minHeight: '100vh', padding: '8vh 16px', background: '#f0f2f5' }}
    >
      <Flex justify="flex-end" style={{ width: '100%', maxWidth: 420, marginBottom: 12 }}>
        <LanguageSwitch />
      </Flex>
      <Card style={{ width: '100%', maxWidth: 420 }}>
        <Typography.Text type="secondary">{t('common.appName')}</Typography.Text>
        <Typography.Title level={2} style={{ marginTop: 4 }}>
          {title}
        </Typography.Title>
        <Typography.Paragraph type="secondary">{intro}</Typography.Paragraph>
        {children}
      </Card>
    </Flex>
  );
}
