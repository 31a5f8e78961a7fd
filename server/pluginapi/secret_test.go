package pluginapi

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestScanURLCredentials(t *testing.T) {
	tests := []struct {
		name, in, masked string
		creds            []URLCredential
	}{
		{"password", "https://svc:pa55@h.example/p", "https://svc:********@h.example/p",
			[]URLCredential{{Part: URLPassword, Raw: "pa55", User: "svc"}}},
		{"a lone user is a token", "https://tok@h.example", "https://********@h.example",
			[]URLCredential{{Part: URLUser, Raw: "tok"}}},
		{"an empty password is nothing to hide", "https://svc:@h.example", "https://svc:@h.example", nil},
		{"secret query parameters by name, repeated ones counted", "http://h/p?API%5FKEY=a&region=eu&sig=s&api%5Fkey=b&API%5FKEY=c&token=#frag?x=1",
			"http://h/p?API%5FKEY=********&region=eu&sig=********&api%5Fkey=********&API%5FKEY=********&token=#frag?x=1",
			[]URLCredential{{Part: URLQuery, Name: "API%5FKEY", Raw: "a"}, {Part: URLQuery, Name: "sig", Raw: "s"},
				{Part: URLQuery, Name: "api%5Fkey", Raw: "b"}, {Part: URLQuery, Name: "API%5FKEY", N: 1, Raw: "c"}}},
		{"an @ in the path is not userinfo", "https://h.example/a@b?x=1", "https://h.example/a@b?x=1", nil},
		{"no scheme: only the query", "/p?token=t", "/p?token=********", []URLCredential{{Part: URLQuery, Name: "token", Raw: "t"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []URLCredential
			same := ScanURLCredentials(tt.in, func(c URLCredential) string { got = append(got, c); return c.Raw })
			require.Equal(t, tt.in, same, "the URL is rebuilt byte for byte")
			require.Equal(t, tt.creds, got)
			require.Equal(t, tt.masked, MaskURLCredentials(tt.in))
		})
	}
	require.Equal(t, "https://h.example:8443", URLOrigin("HTTPS://u:p@H.example:8443/x?y#z"))
	require.Equal(t, "", URLOrigin("/relative?token=x"))
	require.True(t, SecretParamName("pwd"))
	require.False(t, SecretName("pwd"), "short names count only as parameters")
}
