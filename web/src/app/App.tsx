import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { App as AntApp, ConfigProvider } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import { useState, type ReactNode } from 'react';
import { createBrowserRouter, RouterProvider, type RouteObject } from 'react-router';
import { ApiClient, isApiError } from '../api/client';
import { ApiContext, queryKeys } from '../api/context';
import { LoginPage } from '../features/auth/LoginPage';
import { SetupPage } from '../features/auth/SetupPage';
import { I18nProvider } from '../i18n/I18nProvider';
import { useI18n } from '../i18n/context';
import { AppLayout } from './AppLayout';
import { NotFound } from './NotFound';
import { loginPath } from './paths';
import { RequireAuth } from './RequireAuth';
import { sections, subPages } from './sections';

const routes: RouteObject[] = [
  { path: '/setup', element: <SetupPage /> },
  { path: '/login', element: <LoginPage /> },
  {
    element: <RequireAuth />,
    children: [
      {
        element: <AppLayout />,
        children: [
          ...sections.map(({ path, Page }) =>
            path === '' ? { index: true, element: <Page /> } : { path, element: <Page /> },
          ),
          ...subPages.map(({ path, Page }) => ({ path, element: <Page /> })),
          { path: '*', element: <NotFound /> },
        ],
      },
    ],
  },
];

/**
 * createConsole wires the API client, the query cache and the router. A
 * 401 from any authenticated call means the session is gone: the console
 * drops the user and opens the login page, remembering where it was.
 */
function createConsole() {
  const queryClient = new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        // Client errors will not change by asking again; transient ones may.
        retry: (failures, err) =>
          !(isApiError(err) && err.status >= 400 && err.status < 500) && failures < 2,
      },
    },
  });
  const api = new ApiClient({
    onUnauthorized: () => {
      const { location } = router.state;
      if (location.pathname === '/login' || location.pathname === '/setup') return;
      // "Your session ended" only makes sense to someone who had one here.
      const hadSession = queryClient.getQueryData(queryKeys.me) !== undefined;
      queryClient.removeQueries({ queryKey: queryKeys.me });
      void router.navigate(loginPath(location, hadSession), { replace: true });
    },
  });
  const router = createBrowserRouter(routes);
  return { queryClient, api, router };
}

function Themed({ children }: { children: ReactNode }) {
  const { language } = useI18n();
  return (
    <ConfigProvider
      locale={language === 'zh-CN' ? zhCN : enUS}
      theme={{
        token: {
          colorPrimary: '#1f3b73',
          // No web fonts: the console works offline, so it uses the system's.
          fontFamily:
            "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, 'Noto Sans', 'PingFang SC', 'Microsoft YaHei', sans-serif",
        },
      }}
    >
      <AntApp>{children}</AntApp>
    </ConfigProvider>
  );
}

/** App is the whole console. */
export function App() {
  const [{ queryClient, api, router }] = useState(createConsole);
  return (
    <I18nProvider>
      <Themed>
        <QueryClientProvider client={queryClient}>
          <ApiContext.Provider value={api}>
            <RouterProvider router={router} />
          </ApiContext.Provider>
        </QueryClientProvider>
      </Themed>
    </I18nProvider>
  );
}
