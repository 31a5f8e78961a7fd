package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/server/internal/logging"
)

const defaultTailLines = 200

func logFilter(c *gin.Context) (logging.Filter, error) {
	f := logging.Filter{Level: c.Query("level"), Query: c.Query("q")}
	if f.Level != "" {
		if _, err := logging.ParseLevel(f.Level); err != nil {
			return f, newError(http.StatusBadRequest, "invalid_query", "level: "+err.Error(),
				fieldDetail{Field: "level", Message: "use debug, info, warn or error"})
		}
	}
	return f, nil
}

func (s *Server) tailLog(c *gin.Context) {
	n := defaultTailLines
	if raw := c.Query("lines"); raw != "" {
		v, err := strconv.Atoi(raw)
		if err != nil || v < 1 || v > logging.MaxTailLines {
			s.fail(c, newError(http.StatusBadRequest, "invalid_query",
				fmt.Sprintf("lines must be a number from 1 to %d", logging.MaxTailLines),
				fieldDetail{Field: "lines", Message: fmt.Sprintf("from 1 to %d", logging.MaxTailLines)}))
			return
		}
		n = v
	}
	f, err := logFilter(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	lines, err := logging.Tail(s.opts.LogFile, n, f)
	if errors.Is(err, fs.ErrNotExist) {
		lines, err = []logging.Line{}, nil
	}
	if err != nil {
		s.fail(c, fmt.Errorf("tail %s: %w", s.opts.LogFile, err))
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": lines, "total": len(lines)})
}

// followLog streams new lines of gateway.log as server-sent events until
// the client leaves or the server shuts down.
func (s *Server) followLog(c *gin.Context) {
	f, err := logFilter(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	// Fix the starting point before telling the client it is attached, so
	// a line logged right after the opening comment is not missed.
	follower, err := logging.StartFollow(s.opts.LogFile, f)
	if err != nil {
		s.fail(c, fmt.Errorf("follow %s: %w", s.opts.LogFile, err))
		return
	}
	w := c.Writer
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// A comment line opens the stream at once so clients see it connected.
	_, _ = w.WriteString(": following gateway.log\n\n")
	w.Flush()

	lines := make(chan logging.Line, 256)
	ctx, cancel := context.WithCancel(c.Request.Context())
	defer cancel()
	stop := context.AfterFunc(s.streams, cancel)
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- follower.Run(ctx, func(l logging.Line) {
			select {
			case lines <- l:
			case <-ctx.Done():
			}
		})
	}()
	keepAlive := time.NewTicker(15 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case l := <-lines:
			b, _ := json.Marshal(l)
			_, _ = fmt.Fprintf(w, "data: %s\n\n", b)
			w.Flush()
		case <-keepAlive.C:
			_, _ = w.WriteString(": keep-alive\n\n")
			w.Flush()
		case err := <-done:
			if err != nil {
				s.log.Warn("log follow stopped", "error", err)
			}
			return
		}
	}
}
