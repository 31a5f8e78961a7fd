// Package promreg registers a plugin's Prometheus collectors once per
// process, so that the instances of every configuration version share
// them.
package promreg

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c on reg, or returns the collector already
// registered under its name (an instance of an earlier configuration
// registered it). It returns c unregistered when reg is nil or refuses it
// otherwise.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}
