import { describe, expect, it } from 'vitest';
import type { AIRoute, LLMProvider } from '../../api/types';
import {
  aiRouteToForm,
  emptyAIRoute,
  formToAIRoute,
  routesUsing,
  suggestedModel,
  validateAIWeight,
  validatePathPrefix,
  validateStatuses,
  validateWeights,
} from './aiRouteForm';
import {
  emptyProvider,
  explainProviderTest,
  formToProvider,
  isRawConfigsValid,
  providerToForm,
} from './providerForm';
import { aiBaseURL, aiSnippets } from './snippets';
import { byTokens, usageTotals } from './usage';

describe('provider form', () => {
  it('sends stored tokens back as their masks, so the server keeps them', () => {
    const stored: LLMProvider = {
      name: 'openai-1',
      type: 'openai',
      tokens: ['********', '********'],
      endpoint: 'http://127.0.0.1:9000',
      protocol: 'openai',
      version: 4,
    };
    expect(formToProvider(providerToForm(stored), 4)).toEqual(stored);
  });

  it('trims typed tokens, leaves out an empty endpoint and failover when off', () => {
    const v = { ...emptyProvider(), name: ' claude-1 ', type: 'claude', tokens: [' sk-ant '] };
    expect(formToProvider(v)).toEqual({
      name: 'claude-1',
      type: 'claude',
      tokens: ['sk-ant'],
      protocol: 'openai',
    });
  });

  it('sends failover settings and raw Higress fields when given', () => {
    const v = {
      ...emptyProvider(),
      name: 'q',
      tokens: ['k'],
      tokenFailoverConfig: {
        enabled: true,
        failureThreshold: 3,
        successThreshold: null,
        healthCheckInterval: 5000,
        healthCheckModel: ' qwen-turbo ',
      },
      rawConfigs: '{"timeout": 30000}',
    };
    expect(formToProvider(v)).toMatchObject({
      tokenFailoverConfig: {
        enabled: true,
        failureThreshold: 3,
        healthCheckInterval: 5000,
        healthCheckModel: 'qwen-turbo',
      },
      rawConfigs: { timeout: 30000 },
    });
    expect(formToProvider(v).tokenFailoverConfig).not.toHaveProperty('successThreshold');
  });

  it.each([
    ['', true],
    ['{"timeout": 1}', true],
    ['[1]', false],
    ['{timeout: 1}', false],
  ])('raw configs %j valid: %s', (text, want) => {
    expect(isRawConfigsValid(text)).toBe(want);
  });

  it.each([
    [{ ok: true, diagnosis: 'ok' }, 'ai.providers.diag.ok.title'],
    [{ ok: false, diagnosis: 'unauthorized' }, 'ai.providers.diag.unauthorized.title'],
    [{ ok: false, diagnosis: 'rate_limited' }, 'ai.providers.diag.rate_limited.title'],
    [{ ok: false, diagnosis: 'something_new' }, 'ai.providers.diag.unknown.title'],
  ])('explains %j', (r, title) => {
    expect(explainProviderTest(r).title).toBe(title);
  });
});

const route: AIRoute = {
  name: 'chat',
  domains: ['ai.example.com'],
  pathPrefix: '/llm',
  upstreams: [
    { provider: 'openai-1', weight: 80, modelMapping: { 'gpt-4o': 'gpt-4o-mini', '*': '' } },
    { provider: 'deepseek-1', weight: 20 },
  ],
  modelPredicates: [{ matchType: 'PRE', matchValue: 'gpt-' }],
  authConfig: { enabled: true, allowedConsumers: ['team-a'] },
  fallbackConfig: {
    enabled: true,
    upstreams: [{ provider: 'claude-1', modelMapping: { '*': 'claude-sonnet-4-5' } }],
    fallbackStrategy: 'SEQUENCE',
    onStatus: ['429', '5xx'],
  },
  enabled: true,
  version: 7,
};

describe('AI route form', () => {
  it('round-trips a route through the form unchanged', () => {
    expect(formToAIRoute(aiRouteToForm(route), 7)).toEqual(route);
  });

  it('leaves out empty mappings, predicates, auth and fallback of a new route', () => {
    const v = emptyAIRoute('openai-1');
    v.name = 'plain';
    v.upstreams[0]?.modelMapping.push({ from: ' ', to: 'x' });
    v.modelPredicates.push({ matchType: 'EQUAL', matchValue: '' });
    expect(formToAIRoute(v)).toEqual({
      name: 'plain',
      pathPrefix: '/',
      upstreams: [{ provider: 'openai-1', weight: 100 }],
      enabled: true,
    });
  });

  it.each([
    ['/', true],
    ['/llm', true],
    ['/team/a/', true],
    ['llm', false],
    ['/a b', false],
    ['/a?x=1', false],
    ['//a', false],
  ])('path prefix %j valid: %s', (p, ok) => {
    expect(validatePathPrefix(p) === undefined).toBe(ok);
  });

  it('accepts statuses and status classes only', () => {
    expect(validateStatuses(['429', '5xx', '503'])).toBeUndefined();
    expect(validateStatuses(['429', 'oops'])).toEqual({ key: 'ai.routes.onStatusInvalid' });
    expect(validateStatuses(['600'])).toBeDefined();
  });

  it('finds the routes that use a provider, fallbacks included', () => {
    expect(routesUsing([route], 'claude-1')).toEqual(['chat']);
    expect(routesUsing([route], 'deepseek-1')).toEqual(['chat']);
    expect(routesUsing([route], 'other')).toEqual([]);
  });

  it('suggests a model a client may ask for', () => {
    expect(suggestedModel(route)).toBe('gpt-4o');
    expect(
      suggestedModel({ ...route, modelPredicates: [{ matchType: 'EQUAL', matchValue: 'm1' }] }),
    ).toBe('m1');
    expect(suggestedModel({ name: 'x', pathPrefix: '/', upstreams: [{ provider: 'p' }] })).toBe(
      'gpt-4o-mini',
    );
  });
});

describe('snippets', () => {
  const base = aiBaseURL('http://gw.example:8080/', '/llm/');
  const s = aiSnippets(base, 'gpt-4o');

  it('gives OpenAI clients the base with /v1 and Anthropic clients the base without', () => {
    expect(base).toBe('http://gw.example:8080/llm');
    expect(s.curl).toContain("curl -N 'http://gw.example:8080/llm/v1/chat/completions'");
    expect(s.openaiPython).toContain('base_url="http://gw.example:8080/llm/v1"');
    expect(s.openaiNode).toContain('baseURL: "http://gw.example:8080/llm/v1"');
    expect(s.anthropic).toContain('base_url="http://gw.example:8080/llm"');
    expect(s.claudeCode).toContain("export ANTHROPIC_BASE_URL='http://gw.example:8080/llm'");
    expect(s.claudeCode).toContain("export ANTHROPIC_AUTH_TOKEN='YOUR_CONSUMER_KEY'");
    expect(s.codex).toContain("export OPENAI_BASE_URL='http://gw.example:8080/llm/v1'");
    expect(s.codex).toContain("export OPENAI_API_KEY='YOUR_CONSUMER_KEY'");
  });

  it('quotes a model name with a quote in it for the shell', () => {
    const odd = aiSnippets('http://gw', "it's");
    expect(odd.codex).toContain(`codex --model 'it'\\''s'`);
    expect(odd.curl).toContain(`"model":"it'\\''s"`);
  });

  it('serves the root prefix without a double slash', () => {
    expect(aiBaseURL('http://gw:8080', '/')).toBe('http://gw:8080');
  });
});

describe('usage', () => {
  it('sums tokens over the models and orders rows by tokens', () => {
    const rows = [
      { model: 'a', inputTokens: 1, outputTokens: 1, requests: 1 },
      { model: 'b', inputTokens: 10, outputTokens: 5, requests: 2 },
    ];
    expect(usageTotals({ byModel: rows })).toEqual({ inputTokens: 11, outputTokens: 6 });
    expect(byTokens(rows).map((r) => r.model)).toEqual(['b', 'a']);
  });
});

describe('AI route weights', () => {
  it.each([
    [[{ weight: 100 }], undefined],
    [[{ weight: null }], undefined],
    [[{ weight: 0 }], undefined],
    [[{ weight: 80 }, { weight: 20 }], undefined],
    [[{ weight: 100 }, { weight: 100 }], 200],
    [[{ weight: 50 }, { weight: null }], 50],
  ])('weights %j add up wrong by %s', (list, sum) => {
    const p = validateWeights(list);
    expect(p?.vars?.sum).toBe(sum);
  });

  it('needs a provider and weights from 0 to 100', () => {
    expect(validateWeights([])).toEqual({ key: 'ai.routes.upstreamsRequired' });
    expect(validateAIWeight(101)).toBeDefined();
    expect(validateAIWeight(2.5)).toBeDefined();
    expect(validateAIWeight(0)).toBeUndefined();
  });
});
