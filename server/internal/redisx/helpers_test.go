package redisx

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/server/internal/testenv"
)

func TestMain(m *testing.M) {
	// go-redis logs every failed dial to stderr; the tests provoke many.
	RouteLibraryLogs(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

// standalone returns valid settings for one server at addr with short
// timeouts.
func standalone(addr string) Settings {
	s := Defaults()
	s.Addresses = []string{addr}
	s.DialTimeout, s.ReadTimeout, s.WriteTimeout = "2s", "2s", "2s"
	return s
}

// sentinel is a redis-server in Sentinel mode on a free port.
type sentinel struct {
	Addr string
}

// startSentinel starts `redis-server <conf> --sentinel` monitoring the
// master at masterPort under the name master, and stops it at the end of
// the test.
func startSentinel(t *testing.T, master string, masterPort int) *sentinel {
	t.Helper()
	dir := t.TempDir()
	port := testenv.FreePort(t)
	conf := filepath.Join(dir, "sentinel.conf")
	// Sentinel rewrites its config file, so it must be writable.
	require.NoError(t, os.WriteFile(conf, []byte(strings.Join([]string{
		"port " + strconv.Itoa(port),
		"bind 127.0.0.1",
		"daemonize no",
		"dir " + dir,
		"sentinel monitor " + master + " 127.0.0.1 " + strconv.Itoa(masterPort) + " 1",
	}, "\n")+"\n"), 0o600))
	out := &testenv.Buffer{}
	cmd := exec.Command("redis-server", conf, "--sentinel")
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start(), "start redis-server --sentinel")
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("sentinel output:\n%s", out.String())
		}
	})
	s := &sentinel{Addr: "127.0.0.1:" + strconv.Itoa(port)}
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	defer func() { _ = sc.Close() }()
	testenv.WaitFor(t, 10*time.Second, "sentinel on "+s.Addr+" to know master "+master, func() bool {
		_, err := sc.GetMasterAddrByName(context.Background(), master).Result()
		return err == nil
	})
	return s
}

// startClusterNode starts a one-node Redis Cluster serving every slot.
func startClusterNode(t *testing.T) *testenv.Redis {
	t.Helper()
	r := testenv.StartRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(t.TempDir(), "nodes.conf"))
	c := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer func() { _ = c.Close() }()
	ctx := context.Background()
	require.NoError(t, c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", "0", "16383").Err())
	testenv.WaitFor(t, 15*time.Second, "cluster_state:ok on "+r.Addr, func() bool {
		info, err := c.ClusterInfo(ctx).Result()
		return err == nil && strings.Contains(info, "cluster_state:ok")
	})
	return r
}

// silentListener accepts TCP connections and never answers; it is closed
// at the end of the test.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			// Read and drop what the client sends, so its writes do not block.
			wg.Add(1)
			go func() { defer wg.Done(); _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// tlsFiles are a CA and a server certificate for 127.0.0.1 and
// redis.test, written to a temporary directory.
type tlsFiles struct {
	CAPEM             string
	CAFile, Cert, Key string
	OtherCAPEM        string
	dir               string
}

func newTLSFiles(t *testing.T) tlsFiles {
	t.Helper()
	dir := t.TempDir()
	ca, caKey, caPEM := newCA(t, "gatehouse test CA")
	_, _, otherPEM := newCA(t, "some other CA")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "redis.test"},
		DNSNames:     []string{"redis.test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	f := tlsFiles{CAPEM: caPEM, OtherCAPEM: otherPEM, dir: dir,
		CAFile: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "server.pem"), Key: filepath.Join(dir, "server.key")}
	require.NoError(t, os.WriteFile(f.CAFile, []byte(caPEM), 0o600))
	require.NoError(t, os.WriteFile(f.Cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(f.Key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	return f
}

func newCA(t *testing.T, name string) (*x509.Certificate, *ecdsa.PrivateKey, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return cert, key, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// startTLSRedis starts redis-server with a TLS port next to its plain one
// and returns the server and the TLS address.
func startTLSRedis(t *testing.T, f tlsFiles, extra ...string) (*testenv.Redis, string) {
	t.Helper()
	port := testenv.FreePort(t)
	args := append([]string{"--tls-port", strconv.Itoa(port), "--tls-cert-file", f.Cert, "--tls-key-file", f.Key,
		"--tls-ca-cert-file", f.CAFile, "--tls-auth-clients", "no"}, extra...)
	r := testenv.StartRedis(t, args...)
	return r, "127.0.0.1:" + strconv.Itoa(port)
}

// waitStatus polls m until its Redis component has status want.
func waitStatus(t *testing.T, m *Manager, want string, timeout time.Duration) string {
	t.Helper()
	var last string
	testenv.WaitFor(t, timeout, "redis health "+want, func() bool {
		c := m.Health(context.Background())[0]
		last = c.Message
		return string(c.Status) == want
	})
	return last
}

func newTestManager(t *testing.T, opts ManagerOptions) (*Manager, *testenv.Buffer) {
	t.Helper()
	logs := &testenv.Buffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	m, err := NewManager(opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	return m, logs
}

func testLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
