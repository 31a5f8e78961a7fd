package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Redis is a redis-server started by a test on a free port.
type Redis struct {
	t    testing.TB
	Port int
	Addr string
	dir  string
	args []string
	cmd  *exec.Cmd
	done chan struct{}
}

// StartRedis starts redis-server on a free 127.0.0.1 port with nothing kept
// on disk; extra are more redis-server arguments ("--requirepass", "pw").
// It is stopped at the end of the test.
func StartRedis(t testing.TB, extra ...string) *Redis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server is not installed: run 'make deps-test' or 'apt-get install redis-server'")
	}
	r := &Redis{t: t, Port: FreePort(t), dir: t.TempDir(), args: extra}
	r.Addr = "127.0.0.1:" + strconv.Itoa(r.Port)
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// Start starts the server (again, after Stop) on the same port.
func (r *Redis) Start() {
	r.t.Helper()
	args := append([]string{"--port", strconv.Itoa(r.Port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", r.dir, "--daemonize", "no", "--logfile", ""}, r.args...)
	r.cmd = exec.Command("redis-server", args...)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	r.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(r.cmd, r.done)
	WaitFor(r.t, 10*time.Second, "redis-server on "+r.Addr, func() bool {
		conn, err := net.DialTimeout("tcp", r.Addr, 200*time.Millisecond)
		if err != nil {
			return false
		}
		defer func() { _ = conn.Close() }()
		_, _ = fmt.Fprint(conn, "PING\r\n")
		_ = conn.SetReadDeadline(time.Now().Add(time.Second))
		line, err := bufio.NewReader(conn).ReadString('\n')
		// A server with requirepass answers NOAUTH: it is up all the same.
		return err == nil && (strings.HasPrefix(line, "+PONG") || strings.Contains(line, "NOAUTH"))
	})
}

// Stop stops the server and waits for it.
func (r *Redis) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Kill()
	<-r.done
}
