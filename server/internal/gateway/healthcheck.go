package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// runHealthCheck probes every endpoint each interval until stop closes.
func (p *pool) runHealthCheck(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	healthyN, unhealthyN := p.health.Thresholds()
	client := &http.Client{
		Transport: p.transport.t,
		Timeout:   p.health.TimeoutDuration(),
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	ok := make([]int, len(p.endpoints))
	bad := make([]int, len(p.endpoints))
	ticker := time.NewTicker(p.health.IntervalDuration())
	defer ticker.Stop()
	for {
		var wg sync.WaitGroup
		results := make([]error, len(p.endpoints))
		for i, ep := range p.endpoints {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = p.probe(ctx, client, ep)
			}()
		}
		wg.Wait()
		if ctx.Err() != nil {
			return
		}
		for i, ep := range p.endpoints {
			if results[i] == nil {
				ok[i]++
				bad[i] = 0
				if ep.down.Load() && ok[i] >= healthyN {
					ep.down.Store(false)
					p.logger.Info("endpoint healthy again", "endpoint", ep.raw)
				}
				continue
			}
			bad[i]++
			ok[i] = 0
			if !ep.down.Load() && bad[i] >= unhealthyN {
				ep.down.Store(true)
				p.logger.Warn("endpoint unhealthy: health check failed", "endpoint", ep.raw,
					"path", p.health.Path, "error", results[i].Error())
			}
		}
		select {
		case <-stop:
			return
		case <-ticker.C:
		}
	}
}

func (p *pool) probe(ctx context.Context, client *http.Client, ep *endpoint) error {
	u := url.URL{Scheme: ep.scheme, Host: ep.host, Path: ep.basePath + p.health.Path}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "gatehouse-health-check")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	_ = resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("GET %s answered %s", u.String(), resp.Status)
	}
	return nil
}
