//go:build !linux

package pace

import "time"

// ticker falls back to time.Ticker where there is no timerfd: releases
// then follow the runtime's timer resolution (see the package comment).
type ticker struct{ t *time.Ticker }

func newTicker(period time.Duration) (*ticker, error) { return &ticker{time.NewTicker(period)}, nil }

func (t *ticker) wait() error { <-t.t.C; return nil }

func (t *ticker) stop() { t.t.Stop() }
