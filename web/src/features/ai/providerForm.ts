import {
  maskedToken,
  type LLMProtocol,
  type LLMProvider,
  type ProviderTestResult,
  type TokenFailoverConfig,
} from '../../api/types';
import type { MessageKey } from '../../i18n/context';

/** The values of the LLM provider form; names follow the API's field paths. */
export interface ProviderFormValues {
  name: string;
  type: string;
  endpoint?: string;
  protocol: LLMProtocol;
  /** Tokens typed in, or the stored ones' masks when they are kept. */
  tokens: string[];
  tokenFailoverConfig: {
    enabled: boolean;
    failureThreshold?: number | null;
    successThreshold?: number | null;
    healthCheckInterval?: number | null;
    healthCheckTimeout?: number | null;
    healthCheckModel?: string;
  };
  /** The rawConfigs object as JSON text; "" for none. */
  rawConfigs: string;
}

/** emptyProvider is what the form starts from when creating. */
export function emptyProvider(): ProviderFormValues {
  return {
    name: '',
    type: 'openai',
    endpoint: '',
    protocol: 'openai',
    tokens: [''],
    tokenFailoverConfig: { enabled: false },
    rawConfigs: '',
  };
}

/** providerToForm fills the form from a stored provider, its tokens still masked. */
export function providerToForm(p: LLMProvider): ProviderFormValues {
  const f = p.tokenFailoverConfig;
  return {
    name: p.name,
    type: p.type,
    endpoint: p.endpoint ?? '',
    protocol: p.protocol ?? 'openai',
    tokens: [...p.tokens],
    tokenFailoverConfig: {
      enabled: f?.enabled ?? false,
      failureThreshold: f?.failureThreshold ?? null,
      successThreshold: f?.successThreshold ?? null,
      healthCheckInterval: f?.healthCheckInterval ?? null,
      healthCheckTimeout: f?.healthCheckTimeout ?? null,
      healthCheckModel: f?.healthCheckModel ?? '',
    },
    rawConfigs:
      p.rawConfigs && Object.keys(p.rawConfigs).length > 0
        ? JSON.stringify(p.rawConfigs, null, 2)
        : '',
  };
}

/** parseRawConfigs reads the JSON text of rawConfigs: an object, or undefined when empty or invalid. */
export function parseRawConfigs(text: string): Record<string, unknown> | undefined {
  if (text.trim() === '') return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** isRawConfigsValid tells whether the rawConfigs text is empty or a JSON object. */
export function isRawConfigsValid(text: string): boolean {
  return text.trim() === '' || parseRawConfigs(text) !== undefined;
}

/** allMasked tells whether the tokens are the stored ones, kept as their masks. */
export function allMasked(tokens: readonly string[]): boolean {
  return tokens.length > 0 && tokens.every((t) => t === maskedToken);
}

function num(n: number | null | undefined): number | undefined {
  return n === null || n === undefined ? undefined : n;
}

/**
 * formToProvider builds the API object from the form. Masked tokens are sent
 * back as masks, which keeps the stored ones (the server refuses that when
 * the type or endpoint changed, naming tokens[i]); typed tokens are trimmed.
 */
export function formToProvider(v: ProviderFormValues, version?: number): LLMProvider {
  const p: LLMProvider = {
    name: v.name.trim(),
    type: v.type,
    tokens: v.tokens.map((t) => t.trim()),
    protocol: v.protocol,
  };
  const endpoint = (v.endpoint ?? '').trim();
  if (endpoint !== '') p.endpoint = endpoint;
  const f = v.tokenFailoverConfig;
  if (f.enabled) {
    const cfg: TokenFailoverConfig = { enabled: true };
    const set = <K extends keyof TokenFailoverConfig>(k: K, val: TokenFailoverConfig[K]) => {
      if (val !== undefined) cfg[k] = val;
    };
    set('failureThreshold', num(f.failureThreshold));
    set('successThreshold', num(f.successThreshold));
    set('healthCheckInterval', num(f.healthCheckInterval));
    set('healthCheckTimeout', num(f.healthCheckTimeout));
    const model = (f.healthCheckModel ?? '').trim();
    if (model !== '') cfg.healthCheckModel = model;
    p.tokenFailoverConfig = cfg;
  }
  const raw = parseRawConfigs(v.rawConfigs);
  if (raw !== undefined) p.rawConfigs = raw;
  if (version !== undefined && version > 0) p.version = version;
  return p;
}

/** The test outcomes the console explains in its own words. */
const knownDiagnoses = [
  'ok',
  'dns_not_found',
  'connection_refused',
  'timeout',
  'tls_handshake_failed',
  'unauthorized',
  'forbidden',
  'rate_limited',
  'unknown_model',
  'bad_response',
] as const;

type KnownDiagnosis = (typeof knownDiagnoses)[number] | 'unknown';

function isKnown(code: string): code is KnownDiagnosis {
  return (knownDiagnoses as readonly string[]).includes(code);
}

/**
 * explainProviderTest picks the plain-words title and advice of a provider
 * test; a diagnosis the console does not know falls back to "unknown", the
 * server's own message still shown beside it.
 */
export function explainProviderTest(r: Pick<ProviderTestResult, 'ok' | 'diagnosis'>): {
  title: MessageKey;
  advice: MessageKey;
} {
  const code: KnownDiagnosis = r.ok ? 'ok' : isKnown(r.diagnosis) ? r.diagnosis : 'unknown';
  return { title: `ai.providers.diag.${code}.title`, advice: `ai.providers.diag.${code}.advice` };
}

/** The display names of the provider types (brands, the same in every language). */
export const providerTypeLabels: Record<string, string> = {
  openai: 'OpenAI',
  deepseek: 'DeepSeek',
  qwen: 'Qwen (DashScope compatible mode)',
  moonshot: 'Moonshot (Kimi)',
  groq: 'Groq',
  mistral: 'Mistral',
  openrouter: 'OpenRouter',
  together: 'Together AI',
  vllm: 'vLLM',
  ollama: 'Ollama',
  azure: 'Azure OpenAI',
  claude: 'Anthropic Claude',
  gemini: 'Google Gemini',
  generic: 'Generic (OpenAI-compatible, Bearer)',
};
