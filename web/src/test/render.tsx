import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import { App as AntApp } from 'antd';
import type { ReactElement } from 'react';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { ApiClient } from '../api/client';
import { ApiContext } from '../api/context';
import { I18nProvider } from '../i18n/I18nProvider';

/**
 * renderConsole renders part of the console with everything it expects
 * around it: language, antd, query cache, API client and a router whose
 * other routes show their path (so tests can see where navigation went).
 */
export function renderConsole(
  element: ReactElement,
  {
    baseUrl,
    path = '/',
    onUnauthorized,
  }: { baseUrl: string; path?: string; onUnauthorized?: () => void },
) {
  const queryClient = new QueryClient({
    defaultOptions: { queries: { retry: false }, mutations: { retry: false } },
  });
  const api = new ApiClient({ baseUrl, onUnauthorized });
  const router = createMemoryRouter(
    [
      { path: path.split('?')[0], element },
      { path: '*', element: <output data-testid="navigated">{'elsewhere'}</output> },
    ],
    { initialEntries: [path] },
  );
  const result = render(
    <I18nProvider>
      <AntApp>
        <QueryClientProvider client={queryClient}>
          <ApiContext.Provider value={api}>
            <RouterProvider router={router} />
          </ApiContext.Provider>
        </QueryClientProvider>
      </AntApp>
    </I18nProvider>,
  );
  return { ...result, router, queryClient };
}
