package admin

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/server/internal/secret"
	"github.com/gatehouse-dev/gatehouse/server/internal/spec"
)

// Diagnoses of POST /api/v1/llm-providers/{name}/test.
const (
	diagOK                = "ok"
	diagDNSNotFound       = "dns_not_found"
	diagConnectionRefused = "connection_refused"
	diagTimeout           = "timeout"
	diagTLS               = "tls_handshake_failed"
	diagUnauthorized      = "unauthorized"
	diagForbidden         = "forbidden"
	diagRateLimited       = "rate_limited"
	diagUnknownModel      = "unknown_model"
	diagBadResponse       = "bad_response"
)

// providerTestTimeout bounds one provider test.
const providerTestTimeout = 10 * time.Second

// maxProviderAnswer bounds how much of a provider's answer the test reads.
const maxProviderAnswer = 4 << 20

// defaultProviderEndpoints are the public base URLs of the provider types
// that have one; the others need an endpoint.
var defaultProviderEndpoints = map[string]string{
	"openai":     "https://api.openai.com",
	"deepseek":   "https://api.deepseek.com",
	"qwen":       "https://dashscope.aliyuncs.com/compatible-mode",
	"moonshot":   "https://api.moonshot.cn",
	"groq":       "https://api.groq.com/openai",
	"mistral":    "https://api.mistral.ai",
	"openrouter": "https://openrouter.ai/api",
	"together":   "https://api.together.xyz",
	"claude":     "https://api.anthropic.com",
	"gemini":     "https://generativelanguage.googleapis.com",
	"ollama":     "http://127.0.0.1:11434",
}

// providerTestResult is the answer of the provider test.
type providerTestResult struct {
	OK        bool     `json:"ok"`
	Diagnosis string   `json:"diagnosis"`
	Message   string   `json:"message"`
	Models    []string `json:"models"`
	LatencyMs float64  `json:"latencyMs"`
}

// testLLMProvider calls the stored provider directly from this process:
// it lists its models (GET <endpoint>/v1/models, or the type's
// equivalent) with the first token, or, where listing is not offered,
// makes a one-token chat with the model given in the body; and explains a
// failure in plain words. The token is sent only to the provider's own
// endpoint: redirects are not followed.
func (s *Server) testLLMProvider(c *gin.Context) {
	name := c.Param("name")
	snap, _ := s.opts.Config.Snapshot()
	i := slices.IndexFunc(snap.LLMProviders, func(p spec.LLMProvider) bool { return p.Name == name })
	if i < 0 {
		s.fail(c, notFound("llm_provider", name, "/llm-providers"))
		return
	}
	p := snap.LLMProviders[i]
	var body struct {
		Model string `json:"model"`
	}
	if c.Request.ContentLength != 0 {
		if err := bindJSON(c, &body); err != nil && !errors.Is(err, io.EOF) {
			var ae *apiError
			if errors.As(err, &ae) && !strings.Contains(ae.Message, "EOF") {
				s.fail(c, err)
				return
			}
		}
	}
	base := providerBase(p)
	if base == "" {
		s.fail(c, newError(http.StatusBadRequest, "llm_provider_invalid",
			fmt.Sprintf("provider type %q has no public default endpoint; set endpoint to the provider's base URL and test again", p.Type),
			fieldDetail{Field: "endpoint", Message: "required to test this type"}))
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.providerTestTimeout())
	defer cancel()
	res := probeProvider(ctx, s.providerClient(), p, base, body.Model)
	s.log.Info("llm provider tested", "provider", p.Name, "type", p.Type, "diagnosis", res.Diagnosis, "duration_ms", res.LatencyMs)
	c.JSON(http.StatusOK, res)
}

func (s *Server) providerTestTimeout() time.Duration {
	if s.ai.testTimeout > 0 {
		return s.ai.testTimeout
	}
	return providerTestTimeout
}

// providerClient is the HTTP client of provider tests: it never follows a
// redirect, so that a token cannot be carried to another host.
func (s *Server) providerClient() *http.Client {
	if s.ai.testClient != nil {
		return s.ai.testClient
	}
	return &http.Client{
		Transport:     http.DefaultTransport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// providerBase is the provider's base URL: its endpoint, else the type's
// default (Azure: the scheme and host of rawConfigs.azureServiceUrl).
func providerBase(p spec.LLMProvider) string {
	if p.Endpoint != "" {
		return strings.TrimRight(p.Endpoint, "/")
	}
	if p.Type == "azure" {
		if raw, _ := p.RawConfigs["azureServiceUrl"].(string); raw != "" {
			if u, err := url.Parse(raw); err == nil && u.Host != "" {
				return u.Scheme + "://" + u.Host
			}
		}
	}
	return defaultProviderEndpoints[p.Type]
}

var versionSegmentRE = regexp.MustCompile(`/v[0-9]+(alpha|beta)?[0-9]*$`)

// openAIURL is <base>/v1/<path>, or <base>/<path> when base already ends
// in a version segment ("…/v1", "…/v1beta").
func openAIURL(base, path string) string {
	if versionSegmentRE.MatchString(base) {
		return base + "/" + path
	}
	return base + "/v1/" + path
}

// providerRequest builds one test request of the provider's type.
func providerRequest(ctx context.Context, p spec.LLMProvider, base, model string, chat bool) (*http.Request, error) {
	token := ""
	if len(p.Tokens) > 0 {
		token = p.Tokens[0]
	}
	var method, target string
	var body []byte
	header := http.Header{}
	switch p.Type {
	case "claude":
		header.Set("x-api-key", token)
		version, _ := p.RawConfigs["claudeVersion"].(string)
		if version == "" {
			version = "2023-06-01"
		}
		header.Set("anthropic-version", version)
		method, target = http.MethodGet, base+"/v1/models"
		if chat {
			method, target = http.MethodPost, base+"/v1/messages"
			body, _ = json.Marshal(map[string]any{"model": model, "max_tokens": 1, "messages": []any{map[string]any{"role": "user", "content": "ping"}}})
		}
	case "gemini":
		header.Set("x-goog-api-key", token)
		method, target = http.MethodGet, base+"/v1beta/models"
		if chat {
			method, target = http.MethodPost, base+"/v1beta/models/"+url.PathEscape(model)+":generateContent"
			body, _ = json.Marshal(map[string]any{"contents": []any{map[string]any{"role": "user", "parts": []any{map[string]any{"text": "ping"}}}},
				"generationConfig": map[string]any{"maxOutputTokens": 1}})
		}
	case "azure":
		header.Set("api-key", token)
		method, target = http.MethodGet, base+"/openai/v1/models"
		if chat {
			method, target = http.MethodPost, base+"/openai/v1/chat/completions"
			body, _ = json.Marshal(map[string]any{"model": model, "max_tokens": 1, "messages": []any{map[string]any{"role": "user", "content": "ping"}}})
		}
	default:
		if token != "" {
			header.Set("Authorization", "Bearer "+token)
		}
		method, target = http.MethodGet, openAIURL(base, "models")
		if chat {
			method, target = http.MethodPost, openAIURL(base, "chat/completions")
			body, _ = json.Marshal(map[string]any{"model": model, "max_tokens": 1, "messages": []any{map[string]any{"role": "user", "content": "ping"}}})
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = header
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// probeProvider lists the provider's models, or makes a one-token chat
// when listing is not offered and a model is given.
func probeProvider(ctx context.Context, client *http.Client, p spec.LLMProvider, base, model string) providerTestResult {
	start := time.Now()
	res := probe(ctx, client, p, base, model, false)
	if res.Diagnosis == "list_unsupported" {
		if model == "" {
			res = providerTestResult{Diagnosis: diagBadResponse, Message: res.Message +
				"; the provider does not list models there: check the endpoint, or send {\"model\": \"…\"} to test with a one-token chat"}
		} else {
			res = probe(ctx, client, p, base, model, true)
		}
	}
	res.LatencyMs = float64(time.Since(start).Microseconds()) / 1000
	if res.Models == nil {
		res.Models = []string{}
	}
	res.OK = res.Diagnosis == diagOK
	res.Message = scrubTokens(res.Message, p.Tokens)
	return res
}

func probe(ctx context.Context, client *http.Client, p spec.LLMProvider, base, model string, chat bool) providerTestResult {
	req, err := providerRequest(ctx, p, base, model, chat)
	if err != nil {
		return providerTestResult{Diagnosis: diagBadResponse, Message: "cannot build the request: " + err.Error()}
	}
	where := req.Method + " " + req.URL.Redacted()
	resp, err := client.Do(req)
	if err != nil {
		diag, msg := classifyTransport(err, req.URL)
		return providerTestResult{Diagnosis: diag, Message: msg}
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxProviderAnswer))
	if err != nil {
		diag, msg := classifyTransport(err, req.URL)
		return providerTestResult{Diagnosis: diag, Message: "reading the answer failed: " + msg}
	}
	said := providerErrorText(data)
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return providerTestResult{Diagnosis: diagUnauthorized, Message: fmt.Sprintf("%s answered 401: the provider refused the token (tokens[0]); check that it is a valid key for this provider%s", where, said)}
	case resp.StatusCode == http.StatusForbidden:
		return providerTestResult{Diagnosis: diagForbidden, Message: fmt.Sprintf("%s answered 403: the token is valid but not allowed to do this (model access, region, or billing)%s", where, said)}
	case resp.StatusCode == http.StatusTooManyRequests:
		return providerTestResult{Diagnosis: diagRateLimited, Message: fmt.Sprintf("%s answered 429: the provider is rate limiting this token or its quota is used up; wait or raise the limit%s", where, said)}
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return providerTestResult{Diagnosis: diagBadResponse, Message: fmt.Sprintf("%s answered %d, a redirect to %q; redirects are not followed so that the token stays with its endpoint: set the endpoint to where the provider really is", where, resp.StatusCode, resp.Header.Get("Location"))}
	case chat && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusBadRequest && strings.Contains(strings.ToLower(said), "model")):
		return providerTestResult{Diagnosis: diagUnknownModel, Message: fmt.Sprintf("%s answered %d: the provider does not know the model %q%s", where, resp.StatusCode, model, said)}
	case !chat && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed):
		return providerTestResult{Diagnosis: "list_unsupported", Message: fmt.Sprintf("%s answered %d", where, resp.StatusCode)}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return providerTestResult{Diagnosis: diagBadResponse, Message: fmt.Sprintf("%s answered %d%s", where, resp.StatusCode, said)}
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return providerTestResult{Diagnosis: diagBadResponse, Message: fmt.Sprintf("%s answered %d but not with JSON (%s): is the endpoint an LLM API, not a web page or a proxy's login?", where, resp.StatusCode, snippet(data))}
	}
	if chat {
		return providerTestResult{Diagnosis: diagOK, Message: fmt.Sprintf("the provider answered a one-token chat with model %q", model)}
	}
	models := modelNames(doc)
	if model != "" && len(models) > 0 && !slices.Contains(models, model) {
		return providerTestResult{Diagnosis: diagUnknownModel, Models: models,
			Message: fmt.Sprintf("the provider answered, but does not list the model %q; it lists %s", model, listSome(models, 20))}
	}
	return providerTestResult{Diagnosis: diagOK, Models: models, Message: fmt.Sprintf("the provider answered with %d models", len(models))}
}

// modelNames reads {"data":[{"id"}]} (OpenAI, Anthropic) or
// {"models":[{"name":"models/…"}]} (Gemini).
func modelNames(doc map[string]any) []string {
	var out []string
	if data, ok := doc["data"].([]any); ok {
		for _, d := range data {
			if m, ok := d.(map[string]any); ok {
				if id, _ := m["id"].(string); id != "" {
					out = append(out, id)
				}
			}
		}
	}
	if models, ok := doc["models"].([]any); ok {
		for _, d := range models {
			if m, ok := d.(map[string]any); ok {
				if n, _ := m["name"].(string); n != "" {
					out = append(out, strings.TrimPrefix(n, "models/"))
				} else if n, _ := m["model"].(string); n != "" {
					out = append(out, n)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func listSome(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}

// providerErrorText is ": <the provider's error message>" from an OpenAI,
// Anthropic or Gemini error body, or a snippet of the body; "" for none.
func providerErrorText(data []byte) string {
	var doc struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(data, &doc) == nil {
		var e struct {
			Message string `json:"message"`
		}
		if len(doc.Error) > 0 && json.Unmarshal(doc.Error, &e) == nil && e.Message != "" {
			return ` (the provider said: "` + capText(e.Message, 300) + `")`
		}
		var s string
		if len(doc.Error) > 0 && json.Unmarshal(doc.Error, &s) == nil && s != "" {
			return ` (the provider said: "` + capText(s, 300) + `")`
		}
		if doc.Message != "" {
			return ` (the provider said: "` + capText(doc.Message, 300) + `")`
		}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return ""
	}
	return " (" + snippet(data) + ")"
}

func snippet(data []byte) string {
	return "starts with " + fmt.Sprintf("%q", capText(string(bytes.TrimSpace(data)), 120))
}

func capText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// scrubTokens replaces every token in text by the mask.
func scrubTokens(text string, tokens []string) string {
	sorted := slices.Clone(tokens)
	slices.SortFunc(sorted, func(a, b string) int { return len(b) - len(a) })
	for _, t := range sorted {
		if len(t) >= 4 {
			text = strings.ReplaceAll(text, t, secret.Mask)
		}
	}
	return text
}

// classifyTransport explains an error that happened before an answer.
func classifyTransport(err error, u *url.URL) (string, string) {
	host := u.Host
	var dnsErr *net.DNSError
	var netErr net.Error
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var record tls.RecordHeaderError
	var alert tls.AlertError
	switch {
	case errors.As(err, &dnsErr) && !dnsErr.IsTimeout:
		return diagDNSNotFound, fmt.Sprintf("the host name %q was not found (DNS); check the spelling of the endpoint and that this machine can resolve it", u.Hostname())
	case errors.Is(err, syscall.ECONNREFUSED):
		return diagConnectionRefused, fmt.Sprintf("nothing accepts connections at %s (connection refused); is the provider running, and is the port right?", host)
	case errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalid), errors.As(err, &verify):
		return diagTLS, fmt.Sprintf("the TLS handshake with %s failed: the certificate is not trusted here (%v); use the provider's real address, or trust its CA on this machine", host, rootCause(err))
	case errors.As(err, &record), errors.As(err, &alert), strings.Contains(err.Error(), "tls: "),
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return diagTLS, fmt.Sprintf("the TLS handshake with %s failed (%v); does the endpoint speak HTTPS? use http:// for a plain-HTTP server", host, rootCause(err))
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return diagTimeout, fmt.Sprintf("%s did not answer in time; is the address reachable from this machine (firewall, proxy), and is the provider up?", host)
	}
	return diagBadResponse, fmt.Sprintf("the call to %s failed: %v", host, rootCause(err))
}

// rootCause is the innermost error's text, without the URL wrapper.
func rootCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
