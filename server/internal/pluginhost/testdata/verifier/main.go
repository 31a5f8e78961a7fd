// Command verifier drives pluginhost in its own process for the pluginhost
// tests, because plugin.Open cannot run inside a -race test binary and
// caches what it opened for the life of a process.
//
//	verifier manifest -dir D [-required a,b]
//	verifier verify -dir D [-want name=address]... [-want-required name=address]... [-cache C [-ca PEM]]
//
// manifest writes D/manifest.json with pluginhost.WriteManifest and prints
// it; on error it prints the error and exits 1.
//
// verify reads the manifest, runs pluginhost.Verify (pluginhost.VerifyContext
// with a Resolver downloading into C when -cache is given, trusting the
// certificates in PEM for https when -ca is given) and prints a JSON object
// {"report": <Report>, "served": {<name>: <X-Gatehouse-Fixture header>}}:
// every verified plugin is instantiated and serves one request, to prove the
// loaded plugin works. Each failure's one-line error goes to stderr. It
// exits 2 if the manifest cannot be read and 3 if a required plugin failed.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/gatehouse-dev/gatehouse/server/internal/pluginhost"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: verifier manifest|verify -dir D …")
		os.Exit(64)
	}
	switch os.Args[1] {
	case "manifest":
		os.Exit(manifest(os.Args[2:]))
	case "verify":
		os.Exit(verify(os.Args[2:]))
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q: use manifest or verify\n", os.Args[1])
		os.Exit(64)
	}
}

func manifest(args []string) int {
	fs := flag.NewFlagSet("manifest", flag.ExitOnError)
	dir := fs.String("dir", "", "plugin dir")
	required := fs.String("required", "", "comma-separated required plugin names")
	_ = fs.Parse(args)
	var names []string
	if *required != "" {
		names = strings.Split(*required, ",")
	}
	m, err := pluginhost.WriteManifest(*dir, names)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return printJSON(m)
}

type wants struct {
	list     *[]pluginhost.Want
	required bool
}

func (w wants) String() string { return "" }

func (w wants) Set(s string) error {
	name, address, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("%q: want name=address", s)
	}
	*w.list = append(*w.list, pluginhost.Want{Name: name, Address: address, Required: w.required})
	return nil
}

func verify(args []string) int {
	fs := flag.NewFlagSet("verify", flag.ExitOnError)
	dir := fs.String("dir", "", "plugin dir")
	var wanted []pluginhost.Want
	fs.Var(wants{list: &wanted}, "want", "optional plugin the configuration uses: name=address (repeatable)")
	fs.Var(wants{list: &wanted, required: true}, "want-required", "required plugin the configuration uses: name=address (repeatable)")
	cache := fs.String("cache", "", "download dir for https:// and oci:// addresses")
	ca := fs.String("ca", "", "PEM file of the certificates trusted for https")
	_ = fs.Parse(args)

	m, err := pluginhost.ReadManifest(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var res *pluginhost.Resolver
	if *cache != "" {
		res = &pluginhost.Resolver{CacheDir: *cache}
		if *ca != "" {
			client, err := trusting(*ca)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			res.HTTPClient = client
		}
	}
	report := pluginhost.VerifyContext(context.Background(), *dir, m, wanted, res)
	served := map[string]string{}
	for _, res := range report.List() {
		if res.Status != pluginhost.StatusVerified {
			fmt.Fprintln(os.Stderr, res.Error)
			continue
		}
		p, ok := report.Get(res.Name)
		if !ok {
			fmt.Fprintf(os.Stderr, "verified plugin %q missing from Get\n", res.Name)
			return 1
		}
		inst, err := p.New(context.Background(), json.RawMessage(`{}`), nil)
		if err != nil {
			fmt.Fprintf(os.Stderr, "new %s: %v\n", res.Name, err)
			return 1
		}
		rec := httptest.NewRecorder()
		inst.Handler(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		served[res.Name] = rec.Header().Get("X-Gatehouse-Fixture")
		if err := inst.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "close %s: %v\n", res.Name, err)
			return 1
		}
	}
	if rc := printJSON(map[string]any{"report": report, "served": served}); rc != 0 {
		return rc
	}
	if len(report.RequiredFailures()) > 0 {
		return 3
	}
	return 0
}

func printJSON(v any) int {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// trusting returns an HTTP client that trusts the certificates in pemFile.
func trusting(pemFile string) (*http.Client, error) {
	data, err := os.ReadFile(pemFile) //nolint:gosec // test driver argument
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s: no PEM certificate", pemFile)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}, nil
}
