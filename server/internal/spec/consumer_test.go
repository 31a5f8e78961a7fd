package spec

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func fieldsOf(err error) []string {
	var out []string
	for _, fe := range FieldErrors(err) {
		out = append(out, fe.Field)
	}
	return out
}

func TestConsumerValidationNamesFields(t *testing.T) {
	c := Consumer{
		Name:            "bad name",
		Credentials:     []Credential{{Key: "short"}, {}, {KeySHA256: "XYZ"}},
		AllowedModels:   []string{"gpt-4o*", "no spaces please"},
		AllowedAIRoutes: []string{"Bad_Route"},
		Quota:           &Quota{Tokens: 0, Period: "week"},
		Budget:          &Budget{USD: -1, Period: "day"},
	}
	err := c.Validate()
	require.ElementsMatch(t, []string{"name", "credentials[0].key", "credentials[1].key", "credentials[2].keySha256",
		"allowedModels[1]", "allowedAiRoutes[0]", "quota.tokens", "quota.period", "budget.usd"}, fieldsOf(err))
	require.NotContains(t, err.Error(), "short", "a key never appears in a message")
	require.Equal(t, []string{"name"}, fieldsOf(Consumer{Name: "usage"}.Validate()), "the usage list's path is no consumer's")
	require.Equal(t, []string{"quota.tokens"}, fieldsOf(Consumer{Name: "big", Quota: &Quota{Tokens: 1 << 62, Period: "day"}}.Validate()),
		"a quota near Redis's integer limit is refused")
}

func TestConsumerKeysAreStoredHashed(t *testing.T) {
	k := KindOf
	kind, ok := k(Kinds, KindConsumer)
	require.True(t, ok)
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	key := NewConsumerKey()
	require.True(t, strings.HasPrefix(key, ConsumerKeyPrefix))
	require.Len(t, key, len(ConsumerKeyPrefix)+64)
	require.NotEqual(t, key, NewConsumerKey())
	c := Consumer{Name: "team-a", Credentials: []Credential{{Key: key, ExpiresAt: &exp}}}
	require.NoError(t, c.Validate())
	data, err := kind.Encode(c)
	require.NoError(t, err)
	require.NotContains(t, string(data), key)
	require.Contains(t, string(data), HashKey(key))
	require.Equal(t, "team-a", c.Name)
	require.Equal(t, key, c.Credentials[0].Key, "Encode does not change the caller's value")

	back, err := kind.Decode(data)
	require.NoError(t, err)
	cr := back.(Consumer).Credentials[0]
	require.Equal(t, HashKey(key), cr.KeySHA256)
	require.NotEmpty(t, cr.ID)
	require.NotContains(t, HashKey(key), cr.ID)

	// Answers carry neither the key nor its digest.
	shown, _ := json.Marshal(back.(Consumer).MaskSecrets(nil))
	require.NotContains(t, string(shown), HashKey(key))
	require.NotContains(t, string(shown), key)

	// An update that names the key by id keeps it; an unknown id is refused.
	upd := Consumer{Name: "team-a", Credentials: []Credential{{ID: cr.ID}}}
	kept, err := upd.KeepSecrets(back, nil)
	require.NoError(t, err)
	require.Equal(t, HashKey(key), kept.(Consumer).Credentials[0].KeySHA256)
	_, err = Consumer{Name: "team-a", Credentials: []Credential{{ID: "nope"}}}.KeepSecrets(back, nil)
	require.Error(t, err)
}

func TestSnapshotConsumersAreKeyAuthConsumersAndChecked(t *testing.T) {
	key := NewConsumerKey()
	s := Snapshot{
		Consumers: []Consumer{
			{Name: "a", Credentials: []Credential{{KeySHA256: HashKey(key)}}},
			{Name: "b", Credentials: []Credential{{KeySHA256: HashKey(key)}}, AllowedAIRoutes: []string{"missing"}},
		},
		ModelPrices: []ModelPrice{
			{Name: "p1", Model: "gpt-4o*", Input: 1, Output: 2, Date: "2026-12-01"},
			{Name: "p2", Model: "gpt-4o*", Input: 1, Output: 2, Date: "yesterday"},
		},
	}
	require.ElementsMatch(t, []string{"credentials[0].key", "allowedAiRoutes[0]", "model", "date"}, fieldsOf(s.Validate()))
	got := s.KeyAuthConsumers()
	require.Equal(t, []KeyAuthConsumer{{Name: "a", KeySHA256: HashKey(key)}}, got)
}

func TestPriceOfPrefersExactThenLongestPrefix(t *testing.T) {
	prices := []ModelPrice{{Name: "a", Model: "gpt-4o*", Input: 1}, {Name: "b", Model: "gpt-4o-mini*", Input: 2}, {Name: "c", Model: "gpt-4o-mini-x", Input: 3}}
	p, ok := PriceOf(prices, "gpt-4o-mini-2024")
	require.True(t, ok)
	require.Equal(t, "b", p.Name)
	p, _ = PriceOf(prices, "gpt-4o-mini-x")
	require.Equal(t, "c", p.Name)
	p, _ = PriceOf(prices, "gpt-4o-2024")
	require.Equal(t, "a", p.Name)
	_, ok = PriceOf(prices, "claude")
	require.False(t, ok)
	for _, sp := range SeedModelPrices {
		require.NoError(t, sp.Validate())
	}
}

// The declarative export carries the digest (not the key) so that it
// round-trips; a key written in clear in a file is hashed when stored.
func TestConsumerYAMLRoundTrips(t *testing.T) {
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	key := NewConsumerKey()
	c := Consumer{Name: "team-a", Credentials: []Credential{{Key: key, ExpiresAt: &exp}}, Budget: &Budget{USD: 5, Period: PeriodMonth}}
	c.Normalize()
	in := Snapshot{Consumers: []Consumer{c}, ModelPrices: SeedModelPrices[:1]}
	data, err := yaml.Marshal(in)
	require.NoError(t, err)
	require.NotContains(t, string(data), key)
	require.Contains(t, string(data), HashKey(key))
	var back Snapshot
	require.NoError(t, yaml.Unmarshal(data, &back))
	back.Consumers[0].Normalize()
	require.Equal(t, in.Consumers, back.Consumers)
	require.Equal(t, in.ModelPrices, back.ModelPrices)
	require.NoError(t, back.Validate())
}
