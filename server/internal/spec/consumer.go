package spec

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/server/internal/secret"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// Kinds of the AI gateway's consumers and prices.
const (
	KindConsumer   = "consumer"
	KindModelPrice = "model-price"
)

// Error codes of consumers and model prices.
const (
	CodeConsumerInvalid   = "consumer_invalid"
	CodeModelPriceInvalid = "model_price_invalid"
)

// Periods of a quota or a budget (calendar days and months in UTC).
const (
	PeriodDay   = pluginapi.PeriodDay
	PeriodMonth = pluginapi.PeriodMonth
)

// ConsumerKeyPrefix starts every key the server generates, so that a
// leaked key is recognisable (secret scanners, logs).
const ConsumerKeyPrefix = "gh-"

// Bounds of consumer keys and lists.
const (
	MinConsumerKeyLength = 16
	MaxConsumerKeyLength = 4096
	MaxCredentials       = 16
)

// Consumer is a caller of the AI gateway (issue #14): named keys
// (credentials), what it may call and what it may spend. Keys are stored
// only as their SHA-256 digest; the admin API shows a key once, when it is
// created, and never its digest.
type Consumer struct {
	// Name identifies the consumer; AI routes' authConfig.allowedConsumers
	// and key-auth refer to it. Letters, digits and . _ @ -.
	Name string `json:"name" yaml:"name"`
	// Credentials are the consumer's keys; several at once so that keys
	// rotate without downtime.
	Credentials []Credential `json:"credentials" yaml:"credentials"`
	// Labels are free key-value pairs (team, cost centre).
	Labels map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
	// AllowedModels restrict the models the consumer may ask for (exact
	// names or "prefix*"); none means every model.
	AllowedModels []string `json:"allowedModels" yaml:"allowedModels,omitempty"`
	// AllowedAIRoutes restrict the AI routes the consumer may call; none
	// means every route that admits it.
	AllowedAIRoutes []string `json:"allowedAiRoutes" yaml:"allowedAiRoutes,omitempty"`
	// Quota is a token allowance per period; nil means none.
	Quota *Quota `json:"quota,omitempty" yaml:"quota,omitempty"`
	// Budget is a dollar allowance per period; nil means none.
	Budget *Budget `json:"budget,omitempty" yaml:"budget,omitempty"`
	// Version is the optimistic-concurrency version kept by the store.
	Version int64 `json:"version" yaml:"version,omitempty"`
}

// Credential is one key of a consumer.
type Credential struct {
	// ID names the key for revocation; derived from the key when not
	// given. Not secret.
	ID string `json:"id" yaml:"id"`
	// Key is the key in clear. Only ever read from a request (or a
	// declarative file); it is replaced by KeySHA256 before it is stored,
	// and shown once in the answer that created it.
	Key string `json:"key,omitempty" yaml:"key,omitempty"`
	// KeySHA256 is the hex SHA-256 digest of the key: what is stored and
	// exported (docs/security.md says why that is safe for random keys).
	// Never shown by the admin API.
	KeySHA256 string `json:"keySha256,omitempty" yaml:"keySha256,omitempty"`
	// Hint is the key's first characters ("gh-4f2a…"), for people to tell
	// keys apart.
	Hint string `json:"hint,omitempty" yaml:"hint,omitempty"`
	// ExpiresAt, when set, is when key-auth stops accepting the key.
	ExpiresAt *time.Time `json:"expiresAt,omitempty" yaml:"expiresAt,omitempty"`
}

// Quota is a token allowance.
type Quota struct {
	Tokens int64  `json:"tokens" yaml:"tokens"`
	Period string `json:"period" yaml:"period"`
}

// Budget is a dollar allowance.
type Budget struct {
	USD    float64 `json:"usd" yaml:"usd"`
	Period string  `json:"period" yaml:"period"`
}

// ModelPrice is what a model costs, in USD per million tokens. Model is an
// exact model name or a prefix ending in "*"; the longest match wins.
type ModelPrice struct {
	// Name identifies the price (a DNS label, such as "gpt-4o-mini").
	Name string `json:"name" yaml:"name"`
	// Model is the model name or "prefix*".
	Model string `json:"model" yaml:"model"`
	// Input, Output and CachedInput are USD per million tokens.
	Input       float64 `json:"input" yaml:"input"`
	Output      float64 `json:"output" yaml:"output"`
	CachedInput float64 `json:"cachedInput,omitempty" yaml:"cachedInput,omitempty"`
	// Source says where the price comes from; Date when it was read
	// (YYYY-MM-DD).
	Source  string `json:"source,omitempty" yaml:"source,omitempty"`
	Date    string `json:"date" yaml:"date"`
	Version int64  `json:"version" yaml:"version,omitempty"`
}

var (
	consumerNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$`)
	credentialIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)
	sha256HexRE    = regexp.MustCompile(`^[0-9a-f]{64}$`)
	modelRE        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}\*?$`)
	dateRE         = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// NewConsumerKey returns a new random key: ConsumerKeyPrefix and 32
// random bytes in hex (256 bits).
func NewConsumerKey() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return ConsumerKeyPrefix + hex.EncodeToString(b)
}

// HashKey is the hex SHA-256 digest of key, as stored.
func HashKey(key string) string {
	d := sha256.Sum256([]byte(key))
	return hex.EncodeToString(d[:])
}

// credentialID derives a credential's ID from its digest; it says nothing
// about the key.
func credentialID(digest string) string {
	d := sha256.Sum256([]byte("gatehouse-credential-id:" + digest))
	return hex.EncodeToString(d[:6])
}

func keyHint(key string) string {
	n := len(ConsumerKeyPrefix) + 4
	if !strings.HasPrefix(key, ConsumerKeyPrefix) {
		n = 4
	}
	if len(key) < 2*n {
		return ""
	}
	return key[:n] + "…"
}

// Normalize hashes keys given in clear (the clear key is dropped), gives
// keys without an ID their derived ID and the lists their empty value.
func (c *Consumer) Normalize() {
	if c.Credentials == nil {
		c.Credentials = []Credential{}
	}
	for i := range c.Credentials {
		cr := &c.Credentials[i]
		if cr.Key != "" && validKey(cr.Key) == "" {
			cr.KeySHA256, cr.Hint, cr.Key = HashKey(cr.Key), keyHint(cr.Key), ""
		}
		if cr.ID == "" && cr.KeySHA256 != "" {
			cr.ID = credentialID(cr.KeySHA256)
		}
	}
	if c.AllowedModels == nil {
		c.AllowedModels = []string{}
	}
	if c.AllowedAIRoutes == nil {
		c.AllowedAIRoutes = []string{}
	}
}

// ApplyDefaults is Normalize without hashing: a key read from a request
// stays in clear until it is validated and stored.
func (c *Consumer) ApplyDefaults() {
	if c.Credentials == nil {
		c.Credentials = []Credential{}
	}
	if c.AllowedModels == nil {
		c.AllowedModels = []string{}
	}
	if c.AllowedAIRoutes == nil {
		c.AllowedAIRoutes = []string{}
	}
}

func validKey(key string) string {
	switch {
	case len(key) < MinConsumerKeyLength:
		return fmt.Sprintf("is %d characters long; use at least %d, or leave it out and the server generates one", len(key), MinConsumerKeyLength)
	case len(key) > MaxConsumerKeyLength:
		return fmt.Sprintf("is %d characters long; use at most %d", len(key), MaxConsumerKeyLength)
	case !printableNoSpace(key):
		return "must be printable ASCII without spaces, so that it travels unchanged in a header"
	}
	return ""
}

func printableNoSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// ObjectName implements Object.
func (c Consumer) ObjectName() string { return c.Name }

// ObjectVersion implements Object.
func (c Consumer) ObjectVersion() int64 { return c.Version }

// WithIdentity implements Object.
func (c Consumer) WithIdentity(name string, version int64) Object {
	c.Name, c.Version = name, version
	c.Credentials = slices.Clone(c.Credentials)
	c.AllowedModels = slices.Clone(c.AllowedModels)
	c.AllowedAIRoutes = slices.Clone(c.AllowedAIRoutes)
	if c.Labels != nil {
		l := make(map[string]string, len(c.Labels))
		for k, v := range c.Labels {
			l[k] = v
		}
		c.Labels = l
	}
	if c.Quota != nil {
		q := *c.Quota
		c.Quota = &q
	}
	if c.Budget != nil {
		b := *c.Budget
		c.Budget = &b
	}
	return c
}

// Validate implements Object. The key itself never appears in a message.
func (c Consumer) Validate() error {
	p := &problems{object: KindConsumer, name: c.Name, code: CodeConsumerInvalid}
	switch {
	case c.Name == "":
		p.add("name", "is required")
	case !consumerNameRE.MatchString(c.Name):
		p.add("name", "%q is not a valid consumer name: use up to 128 letters, digits and . _ @ -, starting with a letter or digit", c.Name)
	case c.Name == "usage":
		p.add("name", "%q is reserved (GET /api/v1/consumers/usage lists every consumer's usage); choose another name", c.Name)
	}
	if len(c.Credentials) > MaxCredentials {
		p.add("credentials", "has %d keys; a consumer holds at most %d (revoke old ones)", len(c.Credentials), MaxCredentials)
	}
	ids, digests := map[string]int{}, map[string]int{}
	for i, cr := range c.Credentials {
		at := fmt.Sprintf("credentials[%d]", i)
		digest := cr.KeySHA256
		switch {
		case cr.Key != "" && cr.KeySHA256 != "":
			p.add(at+".key", "and keySha256 are both set; give one of them")
		case cr.Key != "":
			if msg := validKey(cr.Key); msg != "" {
				p.add(at+".key", "%s", msg)
			} else {
				digest = HashKey(cr.Key)
			}
		case cr.KeySHA256 != "":
			if !sha256HexRE.MatchString(cr.KeySHA256) {
				p.add(at+".keySha256", "must be 64 lowercase hex digits (the SHA-256 of the key)")
			}
		default:
			p.add(at+".key", "is required: give a key, or leave the credential out of a create request and the server generates one")
		}
		if digest != "" {
			if j, dup := digests[digest]; dup {
				p.add(at+".key", "is the same key as credentials[%d]; every key must be different", j)
			}
			digests[digest] = i
		}
		id := cr.ID
		if id == "" && digest != "" {
			id = credentialID(digest)
		}
		if cr.ID != "" && !credentialIDRE.MatchString(cr.ID) {
			p.add(at+".id", "%q is not valid: use up to 32 lowercase letters, digits and '-'", cr.ID)
		}
		if j, dup := ids[id]; dup && id != "" {
			p.add(at+".id", "%q is also the id of credentials[%d]", id, j)
		}
		ids[id] = i
	}
	for k, v := range c.Labels {
		if k == "" || len(k) > 63 || !printableNoSpace(k) {
			p.add("labels", "label %q is not valid: use 1 to 63 printable characters without spaces", k)
		}
		if len(v) > 256 {
			p.add("labels."+k, "is %d characters long; use at most 256", len(v))
		}
	}
	for i, m := range c.AllowedModels {
		if !modelRE.MatchString(m) {
			p.add(fmt.Sprintf("allowedModels[%d]", i), "%q is not a model name or a prefix ending in '*'", m)
		}
	}
	for i, r := range c.AllowedAIRoutes {
		checkName(p, fmt.Sprintf("allowedAiRoutes[%d]", i), r, "AI route")
	}
	if q := c.Quota; q != nil {
		if q.Tokens <= 0 || q.Tokens > MaxQuotaTokens {
			p.add("quota.tokens", "must be a positive number of tokens up to %d; remove quota for no limit", int64(MaxQuotaTokens))
		}
		checkPeriod(p, "quota.period", q.Period)
	}
	if b := c.Budget; b != nil {
		if !(b.USD > 0) || b.USD > 1e9 {
			p.add("budget.usd", "must be a positive amount of dollars below 1e9; remove budget for no limit")
		}
		checkPeriod(p, "budget.period", b.Period)
	}
	return errors.Join(p.errs...)
}

// MaxQuotaTokens bounds a quota and a top-up of tokens (a quadrillion):
// counters far from the 2^63 where Redis's integers end.
const MaxQuotaTokens = 1e15

func checkPeriod(p *problems, field, period string) {
	if period != PeriodDay && period != PeriodMonth {
		p.add(field, "%q is not a period: use %q or %q", period, PeriodDay, PeriodMonth)
	}
}

// ConsumerRule says where a consumer's stored form holds secrets (the key
// digests), for the revisions.
var ConsumerRule = secret.Tree{Fields: map[string]secret.Rule{
	"credentials": secret.Tree{Items: secret.Tree{Fields: map[string]secret.Rule{"key": secret.Leaf{}, "keySha256": secret.Leaf{}}}},
}}

// SecretRule implements SecretHolder.
func (c Consumer) SecretRule(*secret.Plugins) secret.Rule { return ConsumerRule }

// MaskSecrets implements SecretHolder: keys and their digests are left
// out entirely (an answer never carries either).
func (c Consumer) MaskSecrets(*secret.Plugins) Object {
	c = c.WithIdentity(c.Name, c.Version).(Consumer)
	for i := range c.Credentials {
		c.Credentials[i].Key, c.Credentials[i].KeySHA256 = "", ""
	}
	return c
}

// KeepSecrets implements SecretHolder: a credential sent without a key
// keeps the stored key of the same id; a key sent in clear is hashed.
func (c Consumer) KeepSecrets(stored Object, _ *secret.Plugins) (Object, error) {
	c = c.WithIdentity(c.Name, c.Version).(Consumer)
	var was Consumer
	if s, ok := stored.(Consumer); ok {
		was = s
	}
	var missing []secret.Detail
	for i := range c.Credentials {
		cr := &c.Credentials[i]
		if cr.Key == secret.Mask {
			cr.Key = ""
		}
		if cr.Key != "" || cr.KeySHA256 != "" {
			continue
		}
		j := slices.IndexFunc(was.Credentials, func(o Credential) bool { return cr.ID != "" && o.ID == cr.ID })
		if j < 0 {
			missing = append(missing, secret.Detail{Field: fmt.Sprintf("credentials[%d].key", i), Message: "no stored key has this id; give a key or use POST /api/v1/consumers/{name}/keys"})
			continue
		}
		cr.KeySHA256, cr.Hint = was.Credentials[j].KeySHA256, was.Credentials[j].Hint
	}
	if len(missing) > 0 {
		return c, &secret.Error{Code: CodeConsumerInvalid, Message: "a credential names no stored key; nothing was changed", Details: missing}
	}
	c.Normalize()
	return c, nil
}

// ObjectName implements Object.
func (m ModelPrice) ObjectName() string { return m.Name }

// ObjectVersion implements Object.
func (m ModelPrice) ObjectVersion() int64 { return m.Version }

// WithIdentity implements Object.
func (m ModelPrice) WithIdentity(name string, version int64) Object {
	m.Name, m.Version = name, version
	return m
}

// Validate implements Object.
func (m ModelPrice) Validate() error {
	p := &problems{object: KindModelPrice, name: m.Name, code: CodeModelPriceInvalid}
	checkName(p, "name", m.Name, "name")
	if !modelRE.MatchString(m.Model) {
		p.add("model", "%q is not a model name or a prefix ending in '*' (such as \"gpt-4o*\")", m.Model)
	}
	for field, v := range map[string]float64{"input": m.Input, "output": m.Output, "cachedInput": m.CachedInput} {
		if v < 0 || v > 1e6 || v != v {
			p.add(field, "must be between 0 and 1000000 USD per million tokens")
		}
	}
	if _, err := time.Parse(time.DateOnly, m.Date); err != nil || !dateRE.MatchString(m.Date) {
		p.add("date", "%q is not a date: use YYYY-MM-DD, the day the price was read", m.Date)
	}
	if len(m.Source) > 512 {
		p.add("source", "is %d characters long; use at most 512", len(m.Source))
	}
	return errors.Join(p.errs...)
}

// PriceOf returns the price of model among prices: the exact match, else
// the longest matching prefix (pluginapi.MatchModel, which the ai-consumer
// plugin uses too).
func PriceOf(prices []ModelPrice, model string) (ModelPrice, bool) {
	i := pluginapi.MatchModel(len(prices), func(i int) string { return prices[i].Model }, model)
	if i < 0 {
		return ModelPrice{}, false
	}
	return prices[i], true
}

// PluginPrice is m as the ai-consumer plugin's config takes it.
func (m ModelPrice) PluginPrice() pluginapi.ModelPrice {
	return pluginapi.ModelPrice{Model: m.Model, Input: m.Input, Output: m.Output, CachedInput: m.CachedInput}
}

// SeedModelPrices are the prices stored on first start (public list
// prices, USD per million tokens, read on Date).
var SeedModelPrices = []ModelPrice{
	{Name: "gpt-4o", Model: "gpt-4o*", Input: 2.5, Output: 10, CachedInput: 1.25, Source: "https://openai.com/api/pricing/", Date: "2026-12-01"},
	{Name: "gpt-4o-mini", Model: "gpt-4o-mini*", Input: 0.15, Output: 0.6, CachedInput: 0.075, Source: "https://openai.com/api/pricing/", Date: "2026-12-01"},
	{Name: "claude-sonnet", Model: "claude-sonnet*", Input: 3, Output: 15, CachedInput: 0.3, Source: "https://www.anthropic.com/pricing#api", Date: "2026-12-01"},
	{Name: "claude-haiku", Model: "claude-3-5-haiku*", Input: 0.8, Output: 4, CachedInput: 0.08, Source: "https://www.anthropic.com/pricing#api", Date: "2026-12-01"},
	{Name: "deepseek-chat", Model: "deepseek-chat", Input: 0.27, Output: 1.1, CachedInput: 0.07, Source: "https://api-docs.deepseek.com/quick_start/pricing", Date: "2026-12-01"},
}

// validateConsumers checks the consumers and prices of s against each
// other and the rest of the snapshot: unique names, a key used once, AI
// routes that exist.
func (s Snapshot) validateConsumers() []error {
	var errs []error
	inline := map[string]bool{}
	for _, c := range s.KeyAuthConsumers() {
		if c.Key != "" {
			inline[c.Name] = true
		}
	}
	routes := make(map[string]bool, len(s.AIRoutes))
	for _, r := range s.AIRoutes {
		routes[r.Name] = true
	}
	names := make(map[string]bool, len(s.Consumers))
	digests := map[string]string{}
	for _, c := range s.Consumers {
		p := &problems{object: KindConsumer, name: c.Name, code: CodeConsumerInvalid}
		if err := c.Validate(); err != nil {
			errs = append(errs, err)
		}
		switch {
		case c.Name != "" && names[c.Name]:
			p.add("name", "another consumer is named %q; names must be unique", c.Name)
		case inline[c.Name]:
			p.add("name", "a key-auth plugin instance already has an inline consumer named %q; rename one of them", c.Name)
		}
		names[c.Name] = true
		for i, cr := range c.Credentials {
			d := cr.KeySHA256
			if d == "" && cr.Key != "" {
				d = HashKey(cr.Key)
			}
			if other, dup := digests[d]; dup && d != "" && other != c.Name {
				p.add(fmt.Sprintf("credentials[%d].key", i), "is already a key of consumer %q; every key must be different", other)
			}
			digests[d] = c.Name
		}
		for i, r := range c.AllowedAIRoutes {
			if r != "" && !routes[r] {
				p.add(fmt.Sprintf("allowedAiRoutes[%d]", i), "AI route %q does not exist; create it first or fix the name", r)
			}
		}
		errs = append(errs, p.errs...)
	}
	prices := make(map[string]bool, len(s.ModelPrices))
	models := map[string]string{}
	for _, m := range s.ModelPrices {
		p := &problems{object: KindModelPrice, name: m.Name, code: CodeModelPriceInvalid}
		if err := m.Validate(); err != nil {
			errs = append(errs, err)
		}
		if m.Name != "" && prices[m.Name] {
			p.add("name", "another model price is named %q; names must be unique", m.Name)
		}
		prices[m.Name] = true
		if other, dup := models[m.Model]; dup && m.Model != "" {
			p.add("model", "model price %q already prices %q; edit that one", other, m.Model)
		}
		models[m.Model] = m.Name
		errs = append(errs, p.errs...)
	}
	return errs
}

// CredentialIDOf is the ID a credential gets for key when none is given.
func CredentialIDOf(key string) string { return credentialID(HashKey(key)) }
