// Command allinone prints what the gatehouse container of docker-compose.yaml
// runs with — read from Dockerfile.allinone and docker-compose.yaml by the
// deploy package — for scripts/smoke-allinone.sh, which reproduces that
// container without Docker.
//
//	go run ./scripts/allinone layout [ENV_FILE]   one line per item, tab-separated:
//	    env KEY VALUE | copy SRC DST | volume PATH | bind SRC DST | port N | entrypoint ARG...
//	go run ./scripts/allinone ports N             N free TCP ports on 127.0.0.1, one a line
//
// ENV_FILE fills in the compose file's variables, as .env does for docker
// compose; it defaults to deploy/.env.example.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/deploy"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "allinone: "+err.Error())
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: allinone layout [ENV_FILE] | allinone ports N")
	}
	switch args[0] {
	case "layout":
		envFile := deploy.EnvExamplePath
		if len(args) > 1 {
			envFile = args[1]
		}
		return layout(envFile)
	case "ports":
		n := 1
		if len(args) > 1 {
			v, err := strconv.Atoi(args[1])
			if err != nil || v < 1 {
				return fmt.Errorf("ports: %q is not a positive count", args[1])
			}
			n = v
		}
		return ports(n)
	}
	return fmt.Errorf("unknown command %q; use layout or ports", args[0])
}

func layout(envFile string) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	c, err := deploy.LoadContainer(context.Background(), root, nil, envFile)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, kv := range c.Env {
		k, v, _ := strings.Cut(kv, "=")
		if strings.ContainsAny(v, "\t\n") {
			return fmt.Errorf("the value of %s contains a tab or a newline; the smoke test cannot pass it on", k)
		}
		fmt.Fprintf(&b, "env\t%s\t%s\n", k, v)
	}
	for _, cp := range c.Copies {
		fmt.Fprintf(&b, "copy\t%s\t%s\n", cp.Src, cp.Dst)
	}
	for _, v := range c.Volumes {
		fmt.Fprintf(&b, "volume\t%s\n", v)
	}
	for _, bd := range c.Binds {
		fmt.Fprintf(&b, "bind\t%s\t%s\n", bd.Src, bd.Dst)
	}
	for _, p := range c.Ports {
		fmt.Fprintf(&b, "port\t%d\n", p)
	}
	fmt.Fprintf(&b, "entrypoint\t%s\n", strings.Join(c.Entrypoint, "\t"))
	_, err = os.Stdout.WriteString(b.String())
	return err
}

// ports holds all n listeners open at once so that the ports differ.
func ports(n int) error {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("find a free port: %w", err)
		}
		lns = append(lns, ln)
		fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	}
	return nil
}
