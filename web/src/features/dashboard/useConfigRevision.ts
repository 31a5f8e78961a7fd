import { useQuery } from '@tanstack/react-query';
import { queryKeys, useApi } from '../../api/context';

/** useConfigRevision is the newest configuration revision id; undefined before the first change. */
export function useConfigRevision(): number | undefined {
  const api = useApi();
  const latest = useQuery({
    queryKey: [...queryKeys.revisions, 'latest'],
    queryFn: ({ signal }) => api.revisions({ limit: 1 }, signal),
    refetchInterval: 10_000,
  });
  return latest.data?.items[0]?.id;
}
