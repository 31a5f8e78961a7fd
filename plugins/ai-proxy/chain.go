package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/plugins/internal/aiwire"
	"github.com/gatehouse-dev/gatehouse/plugins/internal/translate"
)

// Several AI routes on one path form a chain: ai-proxy(route 1) →
// ai-proxy(route 2) → … → a terminal handler. A route whose
// modelPredicates do not match the request's model passes it on. The
// routes note in the request's context what they offer; when no route
// took the request and the terminal handler answers 404, the first route
// of the chain replaces that answer with one in the client's protocol
// that names the models offered. GET /v1/models collects every route's
// models the same way. All instances are of this one plugin, so they
// share the context key's type.

type chainKey struct{}

// chainRecord is what the routes of a chain learned of one request. The
// chain runs on the request's goroutine, so it needs no lock.
type chainRecord struct {
	models []string // exact model names, for /v1/models
	desc   []string // every accepted model or pattern, for messages
	served bool     // a route took the request
}

func chainFrom(ctx context.Context) *chainRecord {
	rec, _ := ctx.Value(chainKey{}).(*chainRecord)
	return rec
}

// deferToNext passes a request whose model this route does not offer to
// next, restoring the body it read.
func (c *call) deferToNext(next http.Handler) {
	r := c.r
	if c.body != nil {
		r.Body = io.NopCloser(bytes.NewReader(c.body))
		r.ContentLength = int64(len(c.body))
	}
	c.passOn(next)
}

func (c *call) passOn(next http.Handler) {
	r := c.r
	rec := chainFrom(r.Context())
	first := rec == nil
	if first {
		rec = &chainRecord{}
		r = r.WithContext(context.WithValue(r.Context(), chainKey{}, rec))
	}
	rec.models = append(rec.models, c.in.offered...)
	rec.desc = append(rec.desc, c.in.offeredDesc...)
	if !first {
		next.ServeHTTP(c.w, r)
		return
	}
	nw := &notFoundWriter{ResponseWriter: c.w, c: c, rec: rec}
	next.ServeHTTP(nw, r)
	if nw.intercepted && c.k != kindModels {
		c.finish()
	}
}

// serveModels answers GET /v1/models. It reports whether the request was
// passed on to next (then the chain answers it).
func (c *call) serveModels(next http.Handler) bool {
	if len(c.in.offered) == 0 && len(c.in.predicates) == 0 {
		// The route passes any model: the provider's own list is the
		// best answer, when it speaks the client's protocol.
		u := c.in.primary[0]
		if w := c.wireOf(u.p); w == c.client || u.p.passthrough() {
			c.prov = u.p
			if f := c.try(u); f != nil {
				c.failWith(f)
			}
			return false
		}
	}
	c.passOn(next)
	return true
}

// notFoundWriter is the first chain route's writer for the handlers after
// it: a 404 from the terminal handler, when no route took the request,
// becomes the chain's own answer.
type notFoundWriter struct {
	http.ResponseWriter
	c           *call
	rec         *chainRecord
	intercepted bool
}

func (w *notFoundWriter) WriteHeader(status int) {
	if status == http.StatusNotFound && !w.rec.served && !w.intercepted {
		w.intercepted = true
		w.answer()
		return
	}
	if !w.intercepted {
		w.ResponseWriter.WriteHeader(status)
	}
}

func (w *notFoundWriter) Write(b []byte) (int, error) {
	if w.intercepted {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *notFoundWriter) Flush() {
	if !w.intercepted {
		_ = http.NewResponseController(w.ResponseWriter).Flush()
	}
}

func (w *notFoundWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// answer writes the chain's answer in place of the terminal 404.
func (w *notFoundWriter) answer() {
	c := w.c
	// The terminal handler may have set headers for its own body.
	for k := range w.ResponseWriter.Header() {
		w.ResponseWriter.Header().Del(k)
	}
	c.w = w.ResponseWriter
	if c.k == kindModels {
		writeModels(c.w, c.client, w.rec.models)
		c.status = http.StatusOK
		return
	}
	desc := slices.Compact(slices.Sorted(slices.Values(w.rec.desc)))
	msg := fmt.Sprintf("model %q is not offered on this path", c.info.Model)
	if want, ok := aiwire.ProviderFrom(c.r.Context()); ok {
		msg = fmt.Sprintf("model %q of provider %q is not offered on this path", c.info.Model, want)
	}
	if len(desc) > 0 {
		msg += "; the models offered are " + strings.Join(desc, ", ")
	}
	c.fail(http.StatusNotFound, "not_found_error", msg)
}

// writeModels answers a model list in the client's protocol.
func writeModels(w http.ResponseWriter, client translate.Protocol, models []string) {
	models = slices.Compact(slices.Sorted(slices.Values(models)))
	var body []byte
	if client == translate.Anthropic {
		type model struct {
			Type        string `json:"type"`
			ID          string `json:"id"`
			DisplayName string `json:"display_name"`
			CreatedAt   string `json:"created_at"`
		}
		out := struct {
			Data    []model `json:"data"`
			HasMore bool    `json:"has_more"`
			FirstID *string `json:"first_id"`
			LastID  *string `json:"last_id"`
		}{Data: []model{}}
		for _, m := range models {
			out.Data = append(out.Data, model{Type: "model", ID: m, DisplayName: m, CreatedAt: time.Unix(0, 0).UTC().Format(time.RFC3339)})
		}
		if len(models) > 0 {
			out.FirstID, out.LastID = &models[0], &models[len(models)-1]
		}
		body, _ = json.Marshal(out)
	} else {
		type model struct {
			ID      string `json:"id"`
			Object  string `json:"object"`
			Created int64  `json:"created"`
			OwnedBy string `json:"owned_by"`
		}
		out := struct {
			Object string  `json:"object"`
			Data   []model `json:"data"`
		}{Object: "list", Data: []model{}}
		for _, m := range models {
			out.Data = append(out.Data, model{ID: m, Object: "model", OwnedBy: "gatehouse"})
		}
		body, _ = json.Marshal(out)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
