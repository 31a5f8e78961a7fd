package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/aiwire"
	"github.com/gatehouse-dev/gatehouse/plugins/internal/strictjson"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// defaultSuffixes are Higress's paths.
var defaultSuffixes = []string{
	"/completions", "/embeddings", "/images/generations", "/audio/speech", "/fine_tuning/jobs",
	"/moderations", "/image-synthesis", "/video-synthesis", "/rerank", "/messages",
}

// maxBody is the largest body read, ai-proxy's default limit.
const maxBody = 32 << 20

var (
	fieldRE  = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	headerRE = regexp.MustCompile("^[!#$%&'*+.^_|~0-9A-Za-z-]+$")
)

// config is Higress's model-router config.
type config struct {
	ModelKey           string   `json:"modelKey"`
	ModelToHeader      string   `json:"modelToHeader"`
	AddProviderHeader  string   `json:"addProviderHeader"`
	EnableOnPathSuffix []string `json:"enableOnPathSuffix"`

	all bool
}

func parseConfig(data []byte) (*config, error) {
	var c config
	shape, err := strictjson.Decode(data, &c)
	if err != nil {
		return nil, err
	}
	if c.ModelKey == "" {
		c.ModelKey = "model"
	}
	if c.EnableOnPathSuffix == nil {
		c.EnableOnPathSuffix = defaultSuffixes
	}
	if err := strictjson.Join(shape, c.validate()); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *config) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &pluginapi.ConfigError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if !fieldRE.MatchString(c.ModelKey) {
		bad("modelKey", "%q is not supported: name a top-level body field such as model", c.ModelKey)
	}
	for _, h := range []struct{ field, v string }{{"modelToHeader", c.ModelToHeader}, {"addProviderHeader", c.AddProviderHeader}} {
		if h.v != "" && !headerRE.MatchString(h.v) {
			bad(h.field, "%q is not a valid header name", h.v)
		}
	}
	for i, s := range c.EnableOnPathSuffix {
		switch {
		case s == "*":
			c.all = true
		case s == "":
			bad(fmt.Sprintf("enableOnPathSuffix[%d]", i), `is empty; give a path suffix such as /completions, or "*" for every path`)
		}
	}
	return errors.Join(errs...)
}

type instance struct{ cfg *config }

// Handler implements pluginapi.Instance.
func (in *instance) Handler(next http.Handler) http.Handler {
	c := in.cfg
	if c.ModelToHeader == "" && c.AddProviderHeader == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.enabledOn(r.URL.Path) || r.Body == nil || r.Body == http.NoBody ||
			!strings.Contains(r.Header.Get("Content-Type"), "application/json") {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			if r.Context().Err() == nil {
				aiwire.WriteError(w, r, http.StatusBadRequest, "", "the request body could not be read", 0)
			}
			return
		}
		if len(body) > maxBody {
			aiwire.WriteError(w, r, http.StatusRequestEntityTooLarge, "request_too_large", fmt.Sprintf("the request body is larger than %d bytes", maxBody), 0)
			return
		}
		model := gjson.GetBytes(body, c.ModelKey)
		// The headers are the plugin's to set: a client's own value never
		// passes for one the router set.
		if c.ModelToHeader != "" {
			r.Header.Del(c.ModelToHeader)
		}
		if c.AddProviderHeader != "" {
			r.Header.Del(c.AddProviderHeader)
		}
		if model.Type == gjson.String && model.Str != "" {
			if c.ModelToHeader != "" {
				r.Header.Set(c.ModelToHeader, model.Str)
			}
			if provider, name, ok := strings.Cut(model.Str, "/"); ok && c.AddProviderHeader != "" && provider != "" && name != "" {
				if out, err := setField(body, c.ModelKey, name); err == nil {
					body = out
					r.Header.Set(c.AddProviderHeader, provider)
					r = r.WithContext(aiwire.WithProvider(r.Context(), provider))
				}
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// enabledOn reports whether the path ends with one of the suffixes.
func (c *config) enabledOn(path string) bool {
	if c.all {
		return true
	}
	for _, s := range c.EnableOnPathSuffix {
		if strings.HasSuffix(path, s) {
			return true
		}
	}
	return false
}

// setField sets the top-level string field key of a JSON object.
func setField(body []byte, key, value string) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, err
	}
	v, err := json.Marshal(value)
	if err != nil {
		return nil, err
	}
	top[key] = v
	return json.Marshal(top)
}

// Close implements pluginapi.Instance.
func (in *instance) Close() error { return nil }

var _ pluginapi.Instance = (*instance)(nil)
