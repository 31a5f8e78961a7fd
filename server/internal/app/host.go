package app

import (
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/server/internal/h1client"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
	"github.com/gatehouse-dev/gatehouse/server/pluginapi/memstore"
)

// pluginHost is the Host given to plugin instances: one per plugin name,
// sharing the process's HTTP client, Redis client and metrics registry.
type pluginHost struct {
	log        *slog.Logger
	redis      func() redis.UniversalClient
	client     *http.Client
	reg        prometheus.Registerer
	instanceID string
	shared     pluginapi.SharedStore
}

func (h *pluginHost) Logger() *slog.Logger { return h.log }

func (h *pluginHost) Redis() redis.UniversalClient {
	if h.redis == nil {
		return nil
	}
	return h.redis()
}

func (h *pluginHost) HTTPClient() *http.Client       { return h.client }
func (h *pluginHost) Metrics() prometheus.Registerer { return h.reg }
func (h *pluginHost) InstanceID() string             { return h.instanceID }

// SharedStore returns the plugin's part of the process's in-memory store:
// the same for every instance of the plugin, for the life of the process.
func (h *pluginHost) SharedStore() pluginapi.SharedStore { return h.shared }

// newUpstreamClient is the client plugins call upstream APIs with: one
// keep-alive pool for the whole process. Plain-http calls go through
// h1client (the exchange on the caller's goroutine, as the gateway's own
// proxy does); TLS, HTTP/2, proxies and large bodies through net/http.
func newUpstreamClient() *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return h1client.NewClient(
		&http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          1024,
			MaxIdleConnsPerHost:   256,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		60*time.Second,
	)
}

// hostFactory returns the Host for each plugin name.
func hostFactory(log *slog.Logger, redisClient func() redis.UniversalClient, reg prometheus.Registerer, instanceID string) func(string) pluginapi.Host {
	client := newUpstreamClient()
	shared := memstore.New(0)
	hosts := map[string]*pluginHost{}
	return func(plugin string) pluginapi.Host {
		// Called under the control's lock, so the map needs no mutex.
		h, ok := hosts[plugin]
		if !ok {
			h = &pluginHost{log: log.With("component", "plugin", "plugin", plugin), redis: redisClient, client: client, reg: reg, instanceID: instanceID,
				shared: shared.Namespace(plugin + "\x00")}
			hosts[plugin] = h
		}
		return h
	}
}

var _ pluginapi.Host = (*pluginHost)(nil)
