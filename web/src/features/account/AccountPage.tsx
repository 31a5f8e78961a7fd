import { LogoutOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { Button, Card, Descriptions, Space, Typography } from 'antd';
import { queryKeys, useApi } from '../../api/context';
import { useLogout } from '../../app/useLogout';
import { ErrorAlert } from '../../components/ErrorAlert';
import { Loading } from '../../components/Loading';
import { PageHeader } from '../../components/PageHeader';
import { useI18n } from '../../i18n/context';
import { ChangePasswordForm } from './ChangePasswordForm';
import { TokensCard } from './TokensCard';

/** AccountPage shows who is signed in, changes their password and signs out. */
export default function AccountPage() {
  const { t, formatDateTime } = useI18n();
  const api = useApi();
  const logout = useLogout();
  const me = useQuery({
    queryKey: queryKeys.me,
    queryFn: ({ signal }) => api.me(signal),
  });

  return (
    <>
      <PageHeader title={t('account.title')} />
      <Space orientation="vertical" size={16} style={{ width: '100%' }}>
        <Card size="small">
          {me.isPending ? (
            <Loading />
          ) : me.isError ? (
            <ErrorAlert error={me.error} onRetry={() => void me.refetch()} />
          ) : (
            <Descriptions
              size="small"
              column={{ xs: 1, sm: 2 }}
              items={[
                { key: 'username', label: t('account.username'), children: me.data.username },
                {
                  key: 'createdAt',
                  label: t('account.createdAt'),
                  children: formatDateTime(me.data.createdAt) || t('common.none'),
                },
              ]}
            />
          )}
        </Card>
        <Card title={t('account.changePassword')}>
          <ChangePasswordForm username={me.data?.username} />
        </Card>
        <TokensCard />
        <Card title={t('account.session')}>
          <Typography.Paragraph type="secondary">{t('account.logoutHint')}</Typography.Paragraph>
          <Button
            danger
            icon={<LogoutOutlined />}
            loading={logout.isPending}
            onClick={() => logout.mutate()}
          >
            {t('account.logout')}
          </Button>
        </Card>
      </Space>
    </>
  );
}
