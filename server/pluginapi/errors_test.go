package pluginapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// The body is a contract with clients that match on code: it must stay
// byte-for-byte what the gateway and the plugins always answered.
func TestWriteErrorShape(t *testing.T) {
	cases := []struct {
		name, code, message, want string
		status                    int
	}{
		{"plain", "no_route", "no route matches GET /x", `{"error":{"code":"no_route","message":"no route matches GET /x"}}` + "\n", http.StatusNotFound},
		{"escaped", "bad_request", `quote " and <tag> & amp`, `{"error":{"code":"bad_request","message":"quote \" and \u003ctag\u003e \u0026 amp"}}` + "\n", http.StatusBadRequest},
		{"empty", "", "", `{"error":{"code":"","message":""}}` + "\n", http.StatusTooManyRequests},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			rec.Header().Set("Retry-After", "3")
			pluginapi.WriteError(rec, tc.status, tc.code, tc.message)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if got := rec.Body.String(); got != tc.want {
				t.Fatalf("body %q, want %q", got, tc.want)
			}
			for k, v := range map[string]string{
				"Content-Type":           "application/json; charset=utf-8",
				"X-Content-Type-Options": "nosniff",
				"Retry-After":            "3",
			} {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if got, want := rec.Header().Get("Content-Length"), len(tc.want); got != itoa(want) {
				t.Errorf("Content-Length = %q, want %d", got, want)
			}
		})
	}
}

func TestPhasesIsACopy(t *testing.T) {
	p := pluginapi.Phases()
	want := []pluginapi.Phase{pluginapi.PhaseAuthn, pluginapi.PhaseAuthz, pluginapi.PhaseTraffic, pluginapi.PhaseTransform, pluginapi.PhaseDefault}
	if len(p) != len(want) {
		t.Fatalf("Phases() = %v, want %v", p, want)
	}
	for i := range want {
		if p[i] != want[i] {
			t.Fatalf("Phases() = %v, want %v", p, want)
		}
	}
	p[0] = "changed"
	if pluginapi.Phases()[0] != pluginapi.PhaseAuthn {
		t.Fatal("changing the returned slice changed the chain order of every later caller")
	}
}

func itoa(n int) string {
	b := []byte{}
	for n > 0 || len(b) == 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
