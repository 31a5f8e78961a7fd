// Types of the Gatehouse admin API (/api/v1), written once and shared by
// every view. They follow docs in ARCHITECTURE §9 and the handlers in
// server/internal/admin; when the backend publishes /api/v1/openapi.json
// these can be generated from it instead.

/** One field problem inside an API error. */
export interface ApiErrorDetail {
  field: string;
  message: string;
}

/** The error envelope every non-2xx admin API response carries. */
export interface ApiErrorBody {
  error: {
    code: string;
    message: string;
    details?: ApiErrorDetail[];
  };
}

/** A list response. */
export interface ListResponse<T> {
  items: T[];
  total: number;
}

export interface AuthStatus {
  initialized: boolean;
}

export interface Credentials {
  username: string;
  password: string;
}

export interface InitResponse {
  username: string;
}

export interface LoginResponse {
  token: string;
  expiresAt: string;
  user: { username: string };
}

export interface CurrentUser {
  username: string;
  createdAt: string;
}

export interface ChangePasswordRequest {
  currentPassword: string;
  newPassword: string;
}

export type OverallStatus = 'ok' | 'degraded' | 'down';
export type ComponentStatus = OverallStatus | 'not_configured';
export type ComponentKind = 'database' | 'plugin' | 'redis' | 'gateway';

export interface HealthComponent {
  name: string;
  kind: ComponentKind;
  status: ComponentStatus;
  message?: string;
}

export interface Health {
  status: OverallStatus;
  version: string;
  uptimeSeconds: number;
  startedAt: string;
  /** Whether /readyz would answer 200. */
  ready?: boolean;
  components: HealthComponent[];
}

export type PluginStatus = 'verified' | 'failed' | 'not_loaded';

export interface Plugin {
  name: string;
  imageAddress: string;
  path: string;
  version: string;
  abiVersion: number;
  sha256: string;
  required: boolean;
  status: PluginStatus;
  error?: string;
  restartRequired: boolean;
  /** What the plugin does, from its descriptor. */
  description?: string;
  /** Where in the request chain the plugin runs. */
  phase?: string;
  /** Order within the phase. */
  priority?: number;
  /** The JSON Schema of an instance's config, for forms. */
  configSchema?: JSONSchema;
}

export interface UpdatePluginRequest {
  imageAddress: string;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One gateway.log line; level and time are absent when the line has none. */
export interface LogEntry {
  text: string;
  level?: string;
  time?: string;
}

export interface LogQuery {
  /** How many of the most recent lines to return. */
  lines?: number;
  /** Only lines at this level or above ('' for all). */
  level?: LogLevel | '';
  /** Only lines containing this text, ignoring case ('' for all). */
  q?: string;
}

// ---- Dynamic configuration (docs/configuration.md) ----

/** Fields every configuration object carries. */
export interface Versioned {
  /** The optimistic-concurrency version kept by the store; 0 or absent for new objects. */
  version?: number;
}

export type LoadBalancer = 'round-robin' | 'least-request' | 'consistent-hash';
export type HashOnType = 'header' | 'cookie' | 'client-address';

export interface Endpoint {
  url: string;
  /** 1 to 10000; 0 or absent means 1. */
  weight?: number;
}

export interface HashOn {
  type: HashOnType;
  name?: string;
}

export interface HealthCheck {
  path: string;
  interval?: string;
  timeout?: string;
  healthyThreshold?: number;
  unhealthyThreshold?: number;
}

/** An upstream: endpoints with a load-balancing policy, timeout, retries and health check. */
export interface Service extends Versioned {
  name: string;
  endpoints: Endpoint[];
  loadBalancer?: LoadBalancer;
  hashOn?: HashOn;
  /** A Go duration such as "30s". */
  timeout?: string;
  retries?: number;
  healthCheck?: HealthCheck;
}

export type PathType = 'exact' | 'prefix' | 'regex';

export interface HeaderMatch {
  name: string;
  value: string;
}

/** Sends matching requests to a service. */
export interface Route extends Versioned {
  name: string;
  domains?: string[];
  path: { type: PathType; value: string };
  methods?: string[];
  headers?: HeaderMatch[];
  service: string;
  priority?: number;
  /** true when absent. */
  enabled?: boolean;
  /** Set on the rows that stand for another object, such as an AI route; edit that object instead. */
  readOnly?: boolean;
  /** The object a read-only row stands for. */
  source?: { kind: string; name: string };
}

export type ScopeType = 'global' | 'domain' | 'route' | 'mcp-server' | 'ai-route';

/** One configured use of a plugin, attached at a scope. */
export interface PluginInstance extends Versioned {
  name: string;
  plugin: string;
  scope: { type: ScopeType; value?: string };
  config?: Record<string, unknown>;
  enabled?: boolean;
}

/** One argument of a REST-to-MCP tool (Higress `args`). */
export interface MCPToolArg {
  name: string;
  description?: string;
  type?: string;
  required?: boolean;
  default?: unknown;
  enum?: unknown[];
  items?: unknown;
  properties?: unknown;
  position?: string;
  [key: string]: unknown;
}

export interface MCPRequestTemplate {
  url?: string;
  method?: string;
  headers?: { key: string; value: string }[];
  body?: string;
  argsToJsonBody?: boolean;
  argsToUrlParam?: boolean;
  argsToFormBody?: boolean;
  [key: string]: unknown;
}

export interface MCPResponseTemplate {
  body?: string;
  prependBody?: string;
  appendBody?: string;
}

/** One tool of a REST-to-MCP definition. */
export interface MCPTool {
  name: string;
  description?: string;
  args?: MCPToolArg[];
  requestTemplate?: MCPRequestTemplate;
  responseTemplate?: MCPResponseTemplate;
  outputSchema?: Record<string, unknown>;
  errorResponseTemplate?: string;
  [key: string]: unknown;
}

export type MCPAuthType = 'none' | 'api-key' | 'jwt';

export interface MCPAuth {
  type: MCPAuthType;
  consumers?: string[];
  issuer?: string;
  jwksURL?: string;
  audience?: string;
  passthrough?: boolean;
}

export interface MCPRateLimit {
  toolCallsPerMinute: number;
  failOpen?: boolean;
}

/**
 * An MCP server: a Higress REST-to-MCP (or mcp-proxy) definition plus the
 * Gatehouse fields. The server fills name, path and ssePath in.
 */
export interface MCPServer extends Versioned {
  name: string;
  path: string;
  ssePath: string;
  type?: 'rest' | 'mcp-proxy';
  domains?: string[];
  enabled?: boolean;
  server: {
    name?: string;
    type?: string;
    config?: Record<string, unknown>;
    transport?: string;
    mcpServerURL?: string;
    timeout?: number;
    [key: string]: unknown;
  };
  tools?: MCPTool[];
  allowTools?: string[];
  auth?: MCPAuth;
  rateLimit?: MCPRateLimit;
  [key: string]: unknown;
}

/** A tool as MCP clients list it. */
export interface ToolInfo {
  name: string;
  description?: string;
  inputSchema: JSONSchema;
  outputSchema?: JSONSchema;
}

/** The upstream request a tool call would send (dry run). */
export interface RenderedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** One MCP content block of a tool result. */
export interface ContentBlock {
  type: string;
  text?: string;
  data?: string;
  mimeType?: string;
  [key: string]: unknown;
}

/** The result of a tool call. */
export interface ToolResult {
  content: ContentBlock[];
  structuredContent?: unknown;
  isError: boolean;
}

/** A JSON Schema (draft 2020-12), as far as the console reads it. */
export interface JSONSchema {
  $schema?: string;
  title?: string;
  description?: string;
  type?: string | string[];
  properties?: Record<string, JSONSchema>;
  required?: string[];
  additionalProperties?: boolean | JSONSchema;
  items?: JSONSchema;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  contains?: JSONSchema;
  not?: JSONSchema;
  if?: JSONSchema;
  then?: JSONSchema;
  else?: JSONSchema;
  allOf?: JSONSchema[];
  anyOf?: JSONSchema[];
  oneOf?: JSONSchema[];
  writeOnly?: boolean;
  readOnly?: boolean;
  examples?: unknown[];
}

// ---- Redis settings (/settings/redis) ----

export type RedisMode = 'standalone' | 'sentinel' | 'cluster';

export interface RedisTLS {
  enabled: boolean;
  insecureSkipVerify: boolean;
  serverName: string;
  caCertPEM: string;
}

/** The Redis settings without the password. */
export interface RedisSettingsFields {
  mode: RedisMode;
  addresses: string[];
  masterName: string;
  username: string;
  db: number;
  tls: RedisTLS;
  poolSize: number;
  minIdleConns: number;
  dialTimeout: string;
  readTimeout: string;
  writeTimeout: string;
}

/** What GET and PUT /settings/redis answer. */
export interface RedisSettingsView extends RedisSettingsFields {
  /** Whether a password is stored; the password itself is write-only. */
  passwordSet: boolean;
  /** False until settings were stored. */
  configured: boolean;
}

/** What PUT and test take: absent password keeps the stored one, "" clears it. */
export interface RedisSettingsRequest extends RedisSettingsFields {
  password?: string;
}

/** Outcome codes of a Redis connection test. */
export type RedisDiagnosisCode =
  | 'ok'
  | 'dns_not_found'
  | 'connection_refused'
  | 'timeout'
  | 'tls_handshake_failed'
  | 'auth_failed'
  | 'db_out_of_range'
  | 'not_a_cluster'
  | 'sentinel_master_unknown'
  | 'wrong_mode'
  | 'invalid_settings'
  | 'unknown';

export interface RedisDiagnosis {
  ok: boolean;
  code: RedisDiagnosisCode | (string & {});
  message: string;
  hint?: string;
  serverVersion?: string;
  mode?: string;
  latencyMs: number;
}

// ---- Revisions ----

export type RevisionKind = 'service' | 'route' | 'plugin-instance' | 'mcp-server' | (string & {});

/** One recorded configuration change. */
export interface Revision {
  id: number;
  createdAt: string;
  user: string;
  kind: RevisionKind;
  name: string;
  action: string;
  before: unknown;
  after: unknown;
  batch: string;
}

export interface RollbackResult {
  rolledBack: number;
  kind: string;
  name: string;
  revision: number;
}

/** Scope of an API token: read allows GET and HEAD only. */
export type TokenScope = 'read' | 'write';

/** An API token as listed; the secret itself is never listed. */
export interface APIToken {
  id: number;
  name: string;
  user: string;
  scope: TokenScope;
  /** The token's first characters, to recognise it. */
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

/** The answer to creating a token: the only time `token` is shown. */
export interface CreatedToken extends APIToken {
  token: string;
}

export interface CreateTokenRequest {
  name: string;
  scope: TokenScope;
  /**
   * A Go duration such as "720h", or "never"; left out, the server's default
   * lifetime applies (GATEHOUSE_API_TOKEN_LIFETIME, 90 days unless changed).
   */
  expiresIn?: string;
}

/** One 10-second sample of the gateway's traffic. */
export interface MetricPoint {
  time: string;
  /** Requests per second. */
  requestRate: number;
  /** 5xx responses per second. */
  errorRate: number;
  p50Ms: number;
  p99Ms: number;
  /** MCP tools/call per second, by MCP server. */
  toolCallRate: Record<string, number> | null;
}

export interface MetricSeries {
  intervalSeconds: number;
  items: MetricPoint[];
}

/** MCPStatus is the live state of an enabled MCP server. */
export interface MCPStatus {
  name: string;
  type: string;
  /** Tools clients see; -1 before an mcp-proxy listed its upstream. */
  tools: number;
  /** Sessions this Gatehouse holds. */
  sessions: number;
  lastError?: string;
  lastErrorAt?: string;
}

// ---- AI gateway: LLM providers, AI routes, usage (docs/ai-gateway.md) ----

/** The provider types ai-proxy implements. */
export const llmProviderTypes = [
  'openai',
  'deepseek',
  'qwen',
  'moonshot',
  'groq',
  'mistral',
  'openrouter',
  'together',
  'vllm',
  'ollama',
  'azure',
  'claude',
  'gemini',
  'generic',
] as const;

export type LLMProviderType = (typeof llmProviderTypes)[number];

/** How a provider is called: in OpenAI's protocol, or in its own. */
export type LLMProtocol = 'openai' | 'original';

/** Taking a failing token out of rotation and health-checking it back (Higress `failover`). */
export interface TokenFailoverConfig {
  enabled: boolean;
  failureThreshold?: number;
  successThreshold?: number;
  /** Milliseconds. */
  healthCheckInterval?: number;
  /** Milliseconds. */
  healthCheckTimeout?: number;
  healthCheckModel?: string;
}

/**
 * An LLM provider: where a model is served and the tokens to call it with.
 * `tokens` are write-only: every answer masks each one as "********"; sending
 * a mask back keeps the stored token while type and endpoint are unchanged.
 */
export interface LLMProvider extends Versioned {
  name: string;
  type: LLMProviderType | (string & {});
  tokens: string[];
  endpoint?: string;
  protocol?: LLMProtocol;
  tokenFailoverConfig?: TokenFailoverConfig;
  /** Further Higress provider fields, as they are. */
  rawConfigs?: Record<string, unknown>;
}

/** The mask the API puts in place of every stored token. */
export const maskedToken = '********';

/** Outcome codes of a provider test. */
export type ProviderDiagnosisCode =
  | 'ok'
  | 'dns_not_found'
  | 'connection_refused'
  | 'timeout'
  | 'tls_handshake_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'rate_limited'
  | 'unknown_model'
  | 'bad_response';

/** The answer of POST /llm-providers/{name}/test. */
export interface ProviderTestResult {
  ok: boolean;
  diagnosis: ProviderDiagnosisCode | (string & {});
  message: string;
  models?: string[];
  latencyMs?: number;
}

export type ModelMatchType = 'EQUAL' | 'PRE' | 'REGULAR';

/** An upstream of an AI route: a provider, its share of the traffic and model renames. */
export interface AIRouteUpstream {
  provider: string;
  weight?: number;
  modelMapping?: Record<string, string>;
}

/** An AI route: an OpenAI- and Anthropic-compatible endpoint in front of providers. */
export interface AIRoute extends Versioned {
  name: string;
  domains?: string[];
  pathPrefix: string;
  upstreams: AIRouteUpstream[];
  modelPredicates?: { matchType: ModelMatchType; matchValue: string }[];
  authConfig?: { enabled: boolean; allowedConsumers?: string[] };
  fallbackConfig?: {
    enabled: boolean;
    upstreams?: { provider: string; modelMapping?: Record<string, string> }[];
    fallbackStrategy?: 'SEQUENCE' | 'RANDOM';
    onStatus?: string[];
  };
  /** true when absent. */
  enabled?: boolean;
}

/** The window of the AI usage view. */
export type UsageWindow = '1h' | '24h';

/** Tokens and requests of one model or one consumer. */
export interface UsageRow {
  inputTokens: number;
  outputTokens: number;
  requests: number;
  errors?: number;
}

/** The answer of GET /ai/usage. */
export interface AIUsage {
  window: UsageWindow | (string & {});
  byModel: (UsageRow & { model: string })[];
  byConsumer: (UsageRow & { consumer: string })[];
  firstTokenMs: { p50: number; p99: number };
  errors: number;
  fallbacks: number;
  requests: number;
  /** What the ai-cache plugin answered (hits) and passed on (misses). */
  cache?: { hits: number; misses: number; hitRate: number };
}

// ---- Consumers and model prices (docs/consumers.md) ----

/** The period of a token quota or a dollar budget. */
export type AllowancePeriod = 'day' | 'month';

/**
 * A key of a consumer. The key itself is only in the answer that created it
 * (shown once); stored keys carry their id, a hint and the expiry.
 */
export interface ConsumerCredential {
  id?: string;
  key?: string;
  hint?: string;
  /** RFC 3339; absent means the key never expires. */
  expiresAt?: string;
}

/** A consumer: who calls AI routes, with its keys, allowed models and routes, quota and budget. */
export interface Consumer extends Versioned {
  name: string;
  credentials: ConsumerCredential[];
  labels?: Record<string, string>;
  /** Exact model names or `prefix*`; empty allows every model. */
  allowedModels: string[];
  /** AI route names; empty allows every AI route. */
  allowedAiRoutes: string[];
  quota?: { tokens: number; period: AllowancePeriod };
  budget?: { usd: number; period: AllowancePeriod };
}

/** Tokens, money and requests of a consumer over a period (or of one model in it). */
export interface ConsumerUsageFigures {
  inputTokens: number;
  outputTokens: number;
  /** Part of inputTokens that the provider read from its prompt cache. */
  cachedInputTokens: number;
  usd: number;
  requests: number;
}

/** A consumer's token quota as counted in the current period. */
export interface QuotaUsage {
  tokens: number;
  period: AllowancePeriod;
  usedTokens: number;
  topUpTokens: number;
  remainingTokens: number;
  resetsAt: string;
}

/** A consumer's dollar budget as counted in the current period. */
export interface BudgetUsage {
  usd: number;
  period: AllowancePeriod;
  spentUsd: number;
  topUpUsd: number;
  remainingUsd: number;
  resetsAt: string;
}

/** Where usage figures were read: Redis (live) or the database rollup. */
export type UsageSource = 'redis' | 'database';

/**
 * The answer of GET /consumers/{name}/usage (docs/usage.md): what a consumer
 * used in the current day or month, its quota and budget (null when it has
 * none) and the figures per model.
 */
export interface ConsumerUsage {
  consumer: string;
  period: AllowancePeriod;
  periodStart: string;
  resetsAt: string;
  source: UsageSource;
  /** Why the figures may lag, when read from the database. */
  note?: string;
  totals: ConsumerUsageFigures & { tokens: number };
  quota: QuotaUsage | null;
  budget: BudgetUsage | null;
  models: (ConsumerUsageFigures & { model: string })[];
}

/** The answer of GET /consumers/usage: every consumer's usage, without models, by name. */
export interface ConsumersUsage {
  period: AllowancePeriod;
  periodStart: string;
  resetsAt: string;
  source: UsageSource;
  note?: string;
  items: Omit<ConsumerUsage, 'models'>[];
}

/** What POST /consumers/{name}/usage/top-up adds to the current period: dollars, tokens or both. */
export interface TopUp {
  usd?: number;
  tokens?: number;
}

/** The answer of POST /consumers/{name}/keys: the new key, shown once. */
export interface NewConsumerKey {
  id: string;
  key: string;
  hint?: string;
  expiresAt?: string;
  consumer: Consumer;
}

/** The price of a model, USD per million tokens. */
export interface ModelPrice extends Versioned {
  name: string;
  /** Exact model name or `prefix*`. */
  model: string;
  input: number;
  output: number;
  cachedInput?: number;
  source?: string;
  /** YYYY-MM-DD: when the price was read. */
  date: string;
}
