package aiwire

import "net/http"

// StatusWriter remembers the status of the answer written through it, for
// the plugins that settle a reservation once the answer ended. It passes
// flushes on (streams stay live) and unwraps for http.ResponseController.
type StatusWriter struct {
	http.ResponseWriter
	// Status is the answer's status, 0 until something was written.
	Status int
}

func (w *StatusWriter) WriteHeader(status int) {
	if w.Status == 0 {
		w.Status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher.
func (w *StatusWriter) Flush() {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
