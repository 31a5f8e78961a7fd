import { useQuery } from '@tanstack/react-query';
import { Navigate, Outlet, useLocation } from 'react-router';
import { isApiError } from '../api/client';
import { queryKeys, useApi } from '../api/context';
import { ErrorAlert } from '../components/ErrorAlert';
import { Loading } from '../components/Loading';
import { loginPath } from './paths';

/**
 * RequireAuth renders the console only for a signed-in user: before the
 * first administrator exists it sends people to /setup, without a session to
 * /login (coming back here afterwards).
 */
export function RequireAuth() {
  const api = useApi();
  const location = useLocation();
  const status = useQuery({
    queryKey: queryKeys.authStatus,
    queryFn: ({ signal }) => api.authStatus(signal),
    staleTime: 60_000,
  });
  const initialized = status.data?.initialized === true;
  const me = useQuery({
    queryKey: queryKeys.me,
    queryFn: ({ signal }) => api.me(signal),
    enabled: initialized,
    staleTime: 60_000,
  });

  if (status.isPending) return <Loading fullPage />;
  if (status.isError) {
    return (
      <div style={{ maxWidth: 640, margin: '15vh auto', padding: 16 }}>
        <ErrorAlert error={status.error} onRetry={() => void status.refetch()} />
      </div>
    );
  }
  if (!initialized) return <Navigate to="/setup" replace />;
  if (me.isError && isApiError(me.error) && me.error.status === 401) {
    return <Navigate to={loginPath(location)} replace />;
  }
  if (me.isError) {
    return (
      <div style={{ maxWidth: 640, margin: '15vh auto', padding: 16 }}>
        <ErrorAlert error={me.error} onRetry={() => void me.refetch()} />
      </div>
    );
  }
  if (me.isPending) return <Loading fullPage />;
  return <Outlet />;
}
