package admin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/server/internal/secret"
)

// apiError is the body of every error response (ARCHITECTURE §9). Clients
// branch on Code, never on Message.
type apiError struct {
	Status  int           `json:"-"`
	Code    string        `json:"code"`
	Message string        `json:"message"`
	Details []fieldDetail `json:"details,omitempty"`
}

type fieldDetail struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func newError(status int, code, message string, details ...fieldDetail) *apiError {
	return &apiError{Status: status, Code: code, Message: message, Details: details}
}

// fail writes err as the error body. An *apiError is shown as it is; any
// other error is a 500 whose text stays in the log with the request id.
func (s *Server) fail(c *gin.Context, err error) {
	var ae *apiError
	var se *secret.Error
	if errors.As(err, &se) {
		details := make([]fieldDetail, len(se.Details))
		for i, d := range se.Details {
			details[i] = fieldDetail{Field: d.Field, Message: d.Message}
		}
		ae = newError(http.StatusBadRequest, se.Code, se.Message, details...)
	} else if !errors.As(err, &ae) {
		s.log.Error("admin request failed", "method", c.Request.Method, "path", c.FullPath(),
			"request_id", c.GetString(requestIDKey), "error", err)
		ae = newError(http.StatusInternalServerError, "internal_error",
			"the server failed to handle the request; see gateway.log for request id "+c.GetString(requestIDKey))
	}
	c.AbortWithStatusJSON(ae.Status, gin.H{"error": ae})
}

// maxJSONBytes bounds the JSON bodies decoded by bindJSON.
const maxJSONBytes = 1 << 20

// bindJSON decodes the body strictly into v, refusing unknown fields.
func bindJSON(c *gin.Context, v any) error {
	data, err := io.ReadAll(io.LimitReader(c.Request.Body, maxJSONBytes+1))
	if err != nil {
		return newError(http.StatusBadRequest, "invalid_body", "cannot read the request body: "+err.Error())
	}
	if len(data) > maxJSONBytes {
		return newError(http.StatusRequestEntityTooLarge, "body_too_large", "the request body is larger than 1 MiB; send a smaller one")
	}
	if err := checkJSON(data); err != nil {
		return newError(http.StatusBadRequest, "invalid_body", "the request body is not acceptable JSON: "+err.Error())
	}
	dec := newStrictDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return newError(http.StatusBadRequest, "invalid_body", "the request body is not valid JSON for this endpoint: "+err.Error())
	}
	return nil
}

func logAttrsForStatus(status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	case status >= 400:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

func contextWithTimeout(c *gin.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Request.Context(), d)
}
