package app

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// redisPoolCollector exports the connection pool statistics of the
// process's current Redis client.
type redisPoolCollector struct {
	client func() redis.UniversalClient
	descs  map[string]*prometheus.Desc
}

func newRedisPoolCollector(client func() redis.UniversalClient) *redisPoolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("gatehouse_redis_pool_"+name, help, nil, nil)
	}
	return &redisPoolCollector{client: client, descs: map[string]*prometheus.Desc{
		"hits":        d("hits_total", "Times a free connection was found in the Redis pool."),
		"misses":      d("misses_total", "Times no free connection was found in the Redis pool."),
		"timeouts":    d("timeouts_total", "Times a wait for a Redis pool connection timed out."),
		"total_conns": d("connections", "Connections in the Redis pool."),
		"idle_conns":  d("idle_connections", "Idle connections in the Redis pool."),
		"stale_conns": d("stale_connections_total", "Stale connections removed from the Redis pool."),
	}}
}

func (c *redisPoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *redisPoolCollector) Collect(ch chan<- prometheus.Metric) {
	cl := c.client()
	if cl == nil {
		return
	}
	st := cl.PoolStats()
	if st == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.descs["hits"], prometheus.CounterValue, float64(st.Hits))
	ch <- prometheus.MustNewConstMetric(c.descs["misses"], prometheus.CounterValue, float64(st.Misses))
	ch <- prometheus.MustNewConstMetric(c.descs["timeouts"], prometheus.CounterValue, float64(st.Timeouts))
	ch <- prometheus.MustNewConstMetric(c.descs["total_conns"], prometheus.GaugeValue, float64(st.TotalConns))
	ch <- prometheus.MustNewConstMetric(c.descs["idle_conns"], prometheus.GaugeValue, float64(st.IdleConns))
	ch <- prometheus.MustNewConstMetric(c.descs["stale_conns"], prometheus.CounterValue, float64(st.StaleConns))
}
