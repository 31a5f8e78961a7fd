package clientip

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClientIP(t *testing.T) {
	tests := []struct {
		name, trusted, peer string
		headers             map[string][]string
		want                string
	}{
		{"no proxy trusted: headers are ignored", "", "127.0.0.2:5000",
			map[string][]string{"X-Forwarded-For": {"127.0.0.1"}, "X-Real-Ip": {"127.0.0.1"}}, "127.0.0.2"},
		{"untrusted peer: headers are ignored", "10.0.0.0/8", "192.0.2.9:5000",
			map[string][]string{"X-Forwarded-For": {"1.2.3.4"}}, "192.0.2.9"},
		{"trusted peer: the last untrusted hop", "10.0.0.0/8", "10.0.0.1:5000",
			map[string][]string{"X-Forwarded-For": {"6.6.6.6, 198.51.100.7, 10.1.2.3"}}, "198.51.100.7"},
		{"several header lines are one list", "10.0.0.0/8", "10.0.0.1:5000",
			map[string][]string{"X-Forwarded-For": {"6.6.6.6", "198.51.100.7"}}, "198.51.100.7"},
		{"trusted peer with X-Real-IP only", "10.0.0.1", "10.0.0.1:5000",
			map[string][]string{"X-Real-Ip": {"198.51.100.8"}}, "198.51.100.8"},
		{"garbage stops the walk at the last vouched hop", "10.0.0.0/8", "10.0.0.1:5000",
			map[string][]string{"X-Forwarded-For": {"nonsense, 10.2.2.2"}}, "10.2.2.2"},
		{"trusted peer without headers", "10.0.0.0/8", "10.0.0.1:5000", nil, "10.0.0.1"},
		{"IPv6 peer", "", "[2001:db8::1]:5000", map[string][]string{"X-Forwarded-For": {"1.1.1.1"}}, "2001:db8::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse(tt.trusted)
			require.NoError(t, err)
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tt.peer
			for k, vs := range tt.headers {
				for _, v := range vs {
					req.Header.Add(k, v)
				}
			}
			require.Equal(t, tt.want, r.ClientIP(req))
		})
	}
}

func TestParseReportsEveryBadEntry(t *testing.T) {
	_, err := Parse("10.0.0.0/8, bogus, 300.1.1.1")
	require.ErrorContains(t, err, `"bogus", "300.1.1.1"`)
	r, err := Parse(" 192.168.1.7 , fd00::/8 ")
	require.NoError(t, err)
	require.False(t, r.Empty())
}
