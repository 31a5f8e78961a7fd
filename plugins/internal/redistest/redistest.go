// Package redistest starts a real redis-server for the tests of plugins
// (server/internal/testenv is out of their reach), on a free loopback
// port, never the machine's shared one.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/tests/freeport"
)

// Server is a redis-server process owned by a test.
type Server struct {
	// Addr is the host:port the server listens on.
	Addr string

	t       testing.TB
	dir     string
	port    int
	cluster bool
	cmd     *exec.Cmd
}

// Start starts redis-server on a free loopback port and stops it when the
// test ends. It fails the test when redis-server is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, false)
}

// StartCluster starts a one-node Redis Cluster that serves every slot,
// as Start starts a plain server; connect with ClusterClient.
func StartCluster(t testing.TB) *Server {
	t.Helper()
	return start(t, true)
}

func start(t testing.TB, cluster bool) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server not found in PATH: %v — run make deps-test, or apt-get install redis-server", err)
	}
	s := &Server{t: t, dir: t.TempDir(), cluster: cluster}
	s.port = freePort(t)
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start starts the server again after Stop, on the same port, with empty
// data. Start (the function) has already started it once.
func (s *Server) Start() {
	s.t.Helper()
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--logfile", filepath.Join(s.dir, "redis.log"),
	}
	if s.cluster {
		_ = os.Remove(filepath.Join(s.dir, "nodes.conf")) // empty data: a new node
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	}
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
		if err == nil {
			_, _ = c.Write([]byte("PING\r\n"))
			line, rerr := bufio.NewReader(c).ReadString('\n')
			_ = c.Close()
			if rerr == nil && strings.HasPrefix(line, "+PONG") {
				if s.cluster {
					s.serveAllSlots()
				}
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on %s did not answer PING within 10s", s.Addr)
		}
		time.Sleep(20 * time.Millisecond) // polling for readiness, not synchronisation
	}
}

// serveAllSlots gives the one node every slot and waits until the
// cluster says it is ok.
func (s *Server) serveAllSlots() {
	s.t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer func() { _ = c.Close() }()
	ctx := context.Background()
	if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", "0", "16383").Err(); err != nil {
		s.t.Fatalf("cluster addslotsrange: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		info, err := c.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on %s: no cluster_state:ok within 15s (%v)", s.Addr, err)
		}
		time.Sleep(20 * time.Millisecond) // polling for readiness, not synchronisation
	}
}

// ClusterClient returns a new cluster client for a server StartCluster
// started, closed when the test ends.
func (s *Server) ClusterClient() *redis.ClusterClient {
	c := redis.NewClusterClient(s.options().Cluster())
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

// options are the tests' client options: short timeouts, one retry.
func (s *Server) options() *redis.UniversalOptions {
	return &redis.UniversalOptions{
		Addrs:        []string{s.Addr},
		DialTimeout:  time.Second,
		ReadTimeout:  2 * time.Second,
		WriteTimeout: 2 * time.Second,
		MaxRetries:   1,
	}
}

// Stop stops the server. It is safe to call more than once.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart starts the server again on the same port, with empty data.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.Start()
}

// Client returns a new client for the server, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(s.options().Simple())
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

// FlushAll empties the server.
func (s *Server) FlushAll() {
	s.t.Helper()
	if err := s.Client().FlushAll(context.Background()).Err(); err != nil {
		s.t.Fatalf("flushall: %v", err)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	return freeport.Get(t)
}

// String implements fmt.Stringer.
func (s *Server) String() string { return fmt.Sprintf("redis-server %s", s.Addr) }
