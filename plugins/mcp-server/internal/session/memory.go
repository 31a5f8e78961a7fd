package session

import (
	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// Memory is what the plugin instances of one process share when Redis is
// not configured, the way instances share Redis: session records, stream
// holders and requesters, events kept for resumption, the handoff between
// owners and rate-limit counters. It keeps nothing itself: everything lives
// in the host's pluginapi.SharedStore under the keys and channels the
// Redis path uses, so that the instances a configuration change starts
// serve the sessions of the ones they replace.
type Memory struct {
	store pluginapi.SharedStore
}

// NewMemory returns a Memory on store (Host.SharedStore).
func NewMemory(store pluginapi.SharedStore) *Memory {
	return &Memory{store: store}
}
