import { useCallback, useState } from 'react';

/** The gateway listener's default port (ARCHITECTURE §3). */
export const defaultGatewayPort = 8080;

/** The localStorage key that remembers the gateway origin the user gave. */
export const gatewayOriginStorageKey = 'gatehouse.gatewayOrigin';

/**
 * defaultGatewayOrigin derives where the gateway is from where the console
 * is: the same scheme and host, the gateway's default port.
 */
export function defaultGatewayOrigin(loc: Pick<Location, 'protocol' | 'hostname'>): string {
  return `${loc.protocol}//${loc.hostname}:${defaultGatewayPort}`;
}

/**
 * normalizeOrigin cleans what someone typed as the gateway address: adds
 * http:// when the scheme is missing and drops a trailing slash. It returns
 * undefined for something that is not an http(s) origin.
 */
export function normalizeOrigin(input: string): string | undefined {
  let v = input.trim().replace(/\/+$/, '');
  if (v === '') return undefined;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) v = `http://${v}`;
  try {
    const u = new URL(v);
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.hostname === '') return undefined;
    const path = u.pathname === '/' ? '' : u.pathname.replace(/\/+$/, '');
    return `${u.protocol}//${u.host}${path}`;
  } catch {
    return undefined;
  }
}

/** gatewayURL joins the gateway origin and a path served by the gateway. */
export function gatewayURL(origin: string, path: string): string {
  return origin.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`);
}

function readStored(): string | undefined {
  try {
    return normalizeOrigin(window.localStorage.getItem(gatewayOriginStorageKey) ?? '');
  } catch {
    return undefined;
  }
}

/**
 * useGatewayOrigin returns the gateway origin — the one the user set, else
 * the one derived from the console's address — and a setter that remembers
 * it ("" goes back to the derived one).
 */
export function useGatewayOrigin(): {
  origin: string;
  derived: string;
  custom: boolean;
  setOrigin: (v: string) => void;
} {
  const derived = defaultGatewayOrigin(window.location);
  const [stored, setStored] = useState(readStored);
  const setOrigin = useCallback((v: string) => {
    const next = normalizeOrigin(v);
    setStored(next);
    try {
      if (next === undefined) window.localStorage.removeItem(gatewayOriginStorageKey);
      else window.localStorage.setItem(gatewayOriginStorageKey, next);
    } catch {
      // Not remembered, but used for this page.
    }
  }, []);
  return { origin: stored ?? derived, derived, custom: stored !== undefined, setOrigin };
}
