package app

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/server/internal/config"
)

// healthcheckCommand asks the console listener of the settings for
// /readyz, so a container health check needs no curl and follows
// GATEHOUSE_CONSOLE_ADDR.
func healthcheckCommand(s config.Settings, stdout, stderr io.Writer) int {
	host, port, err := net.SplitHostPort(s.ConsoleAddr)
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "gatehouse healthcheck: "+err.Error())
		return ExitUsage
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, port) + "/readyz"
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "gatehouse healthcheck: %s: %v\n", url, err)
		return ExitFailure
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = fmt.Fprintf(stderr, "gatehouse healthcheck: %s answered %d (starting or shutting down)\n", url, resp.StatusCode)
		return ExitFailure
	}
	_, _ = fmt.Fprintln(stdout, "ready")
	return ExitOK
}
