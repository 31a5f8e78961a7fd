import { LogoutOutlined, MenuOutlined, UserOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { Button, Drawer, Dropdown, Flex, Layout, Menu, Typography, theme } from 'antd';
import { Suspense, useEffect, useState } from 'react';
import { Link, Outlet, useLocation, useNavigate } from 'react-router';
import { queryKeys, useApi } from '../api/context';
import { LanguageSwitch } from '../components/LanguageSwitch';
import { Loading } from '../components/Loading';
import { ViewErrorBoundary } from '../components/ViewErrorBoundary';
import { useI18n } from '../i18n/context';
import { navEntries, sectionFor, sections, type Section } from './sections';
import { useLogout } from './useLogout';

const { Header, Sider, Content } = Layout;
const navWidth = 220;

/**
 * AppLayout is the signed-in frame: navigation, a header with the language
 * switch and the user menu, and the current view. Below the lg breakpoint
 * the navigation moves into a drawer opened from the header.
 */
export function AppLayout() {
  const { t } = useI18n();
  const api = useApi();
  const location = useLocation();
  const navigate = useNavigate();
  const logout = useLogout();
  const { token } = theme.useToken();
  const [narrow, setNarrow] = useState(false);
  const [drawerOpen, setDrawerOpen] = useState(false);
  const me = useQuery({
    queryKey: queryKeys.me,
    queryFn: ({ signal }) => api.me(signal),
    staleTime: 60_000,
  });

  const current = sectionFor(location.pathname);
  const title = current ? t(current.label) : t('common.appName');
  useEffect(() => {
    document.title = `${title} · ${t('common.appName')}`;
  }, [title, t]);

  const item = (s: Section) => ({
    key: s.path,
    icon: s.icon,
    label: <Link to={`/${s.path}`}>{t(s.label)}</Link>,
  });

  const navigation = (
    <>
      <Link
        to="/"
        onClick={() => setDrawerOpen(false)}
        style={{
          display: 'block',
          padding: '20px 24px',
          color: '#fff',
          fontSize: 18,
          fontWeight: 600,
        }}
      >
        {t('common.appName')}
      </Link>
      <nav aria-label={t('nav.menu')}>
        <Menu
          theme="dark"
          mode="inline"
          selectedKeys={current ? [current.path] : []}
          items={navEntries(sections).map((e) =>
            e.kind === 'section'
              ? item(e.section)
              : {
                  type: 'group' as const,
                  key: `group-${e.label}`,
                  label: t(e.label),
                  children: e.sections.map(item),
                },
          )}
          onClick={() => setDrawerOpen(false)}
        />
      </nav>
    </>
  );

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Sider
        breakpoint="lg"
        collapsedWidth={0}
        collapsed={narrow}
        trigger={null}
        onBreakpoint={setNarrow}
        width={navWidth}
      >
        {!narrow && navigation}
      </Sider>
      <Drawer
        open={narrow && drawerOpen}
        onClose={() => setDrawerOpen(false)}
        placement="left"
        size={navWidth}
        closable={false}
        styles={{ body: { padding: 0, background: '#001529' } }}
      >
        {navigation}
      </Drawer>
      <Layout>
        <Header
          style={{
            background: token.colorBgContainer,
            padding: narrow ? '0 12px' : '0 24px',
            borderBottom: `1px solid ${token.colorBorderSecondary}`,
          }}
        >
          <Flex justify="space-between" align="center" style={{ height: '100%' }} gap={12}>
            {narrow ? (
              <Button
                type="text"
                icon={<MenuOutlined />}
                aria-label={t('nav.menu')}
                onClick={() => setDrawerOpen(true)}
              />
            ) : (
              <Typography.Text type="secondary" ellipsis>
                {t('common.subtitle')}
              </Typography.Text>
            )}
            <Flex align="center" gap={12}>
              <LanguageSwitch />
              <Dropdown
                trigger={['click']}
                menu={{
                  items: [
                    {
                      key: 'account',
                      icon: <UserOutlined />,
                      label: t('nav.account'),
                      onClick: () => void navigate('/account'),
                    },
                    {
                      key: 'logout',
                      icon: <LogoutOutlined />,
                      label: t('header.logout'),
                      onClick: () => logout.mutate(),
                    },
                  ],
                }}
              >
                <Button
                  type="text"
                  icon={<UserOutlined />}
                  aria-label={t('header.signedInAs', { username: me.data?.username ?? '' })}
                >
                  {me.data?.username}
                </Button>
              </Dropdown>
            </Flex>
          </Flex>
        </Header>
        <Content style={{ padding: narrow ? 16 : 24, minWidth: 0 }}>
          <ViewErrorBoundary resetKey={location.pathname}>
            <Suspense fallback={<Loading />}>
              <Outlet />
            </Suspense>
          </ViewErrorBoundary>
        </Content>
      </Layout>
    </Layout>
  );
}
