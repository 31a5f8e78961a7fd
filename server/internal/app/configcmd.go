package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/gatehouse-dev/gatehouse/server/internal/config"
	"github.com/gatehouse-dev/gatehouse/server/internal/control"
	"github.com/gatehouse-dev/gatehouse/server/internal/store"
)

const configUsage = `usage:
  gatehouse config export [settings flags]            write services, routes, plugin instances, MCP servers, LLM providers, AI routes, consumers (key digests) and model prices as YAML to stdout
  gatehouse config apply -f FILE [settings flags]     validate FILE whole and make it the stored configuration, in one transaction
`

// configCommand is 'gatehouse config export|apply'. It works on the
// database named by the settings; running instances pick the change up
// within seconds.
func configCommand(args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "export" && args[0] != "apply") {
		_, _ = fmt.Fprint(stderr, configUsage)
		return ExitUsage
	}
	sub, rest := args[0], args[1:]
	file := ""
	if sub == "apply" {
		var kept []string
		for i := 0; i < len(rest); i++ {
			if (rest[i] == "-f" || rest[i] == "--file") && i+1 < len(rest) {
				file = rest[i+1]
				i++
				continue
			}
			kept = append(kept, rest[i])
		}
		rest = kept
		if file == "" {
			_, _ = fmt.Fprint(stderr, "gatehouse config apply: -f FILE is required\n"+configUsage)
			return ExitUsage
		}
	}
	s, code := loadSettings(rest, environ, stdout, stderr)
	if code >= 0 {
		return code
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := store.Open(ctx, s.Database, log)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "gatehouse: cannot open the database %s: %v\n", config.RedactDSN(s.Database), err)
		return ExitDatabase
	}
	defer func() { _ = st.Close() }()

	if sub == "export" {
		ctl := control.New(control.Options{Store: st, Logger: log})
		snap, err := ctl.Stored(ctx)
		if err != nil {
			_, _ = fmt.Fprintln(stderr, "gatehouse: "+err.Error())
			return ExitFailure
		}
		enc := yaml.NewEncoder(stdout)
		enc.SetIndent(2)
		if err := enc.Encode(snap); err != nil {
			_, _ = fmt.Fprintln(stderr, "gatehouse: "+err.Error())
			return ExitFailure
		}
		return ExitOK
	}

	// Plugin configs are validated by their plugins, so they are loaded
	// and verified as at start.
	plugins, err := verifyPlugins(ctx, s, st, log)
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "gatehouse: "+err.Error())
		return ExitPluginVerification
	}
	snap, err := readConfigFile(file)
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "gatehouse: "+err.Error())
		return ExitConfig
	}
	ctl := control.New(control.Options{Store: st, Plugins: plugins, Logger: log,
		Host: hostFactory(log, nil, prometheus.NewRegistry(), s.InstanceID)})
	n, err := ctl.Replace(ctx, "config-apply", snap)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "gatehouse: %s refused, nothing changed:\n", file)
		for _, e := range flatten(err) {
			_, _ = fmt.Fprintln(stderr, "  - "+e.Error())
		}
		return ExitConfig
	}
	_, _ = fmt.Fprintf(stdout, "applied %s: %d objects changed\n", file, n)
	return ExitOK
}
