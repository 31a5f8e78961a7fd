// Package app wires gatehouse together: the start order, the listeners and
// graceful shutdown (ARCHITECTURE §12), and the subcommands of the binary.
package app

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-dev/gatehouse/server/internal/config"
)

// Exit codes of the gatehouse binary.
const (
	ExitOK = 0
	// ExitFailure: a failure after start, a shutdown that exceeded its
	// timeout, or a second signal that forced the exit.
	ExitFailure = 1
	// ExitUsage: invalid settings or command line.
	ExitUsage = 2
	// ExitPluginVerification: a required plugin artifact failed verification.
	ExitPluginVerification = 3
	// ExitDatabase: the database could not be opened or migrated.
	ExitDatabase = 4
	// ExitListen: a listener could not be opened (address in use, permission).
	ExitListen = 5
	// ExitConfig: the stored configuration or the configuration file could
	// not be applied (each problem is named).
	ExitConfig = 6
)

const usage = `gatehouse — the all-in-one AI gateway

Usage:
  gatehouse serve [flags]             start the gateway and the console
  gatehouse verify-plugins [flags]    verify the plugin artifacts, print a table, exit non-zero on failure
  gatehouse plugins manifest --dir D [--required a,b]
                                      write D/manifest.json for the artifacts in D
  gatehouse config export|apply -f FILE
                                      export the configuration as YAML, or apply a file in one transaction
  gatehouse healthcheck [flags]       exit 0 when this instance's /readyz answers 200 (for container health checks)
  gatehouse version                   print the version

Run 'gatehouse serve --help' for the settings.
`

// Main runs the command line args (without the program name) and returns
// the exit code.
func Main(version string, args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		_, _ = fmt.Fprint(stderr, usage)
		return ExitUsage
	}
	switch args[0] {
	case "serve":
		s, code := loadSettings(args[1:], environ, stdout, stderr)
		if code >= 0 {
			return code
		}
		return serve(version, s, stdout, stderr)
	case "verify-plugins":
		s, code := loadSettings(args[1:], environ, stdout, stderr)
		if code >= 0 {
			return code
		}
		return verifyPluginsCommand(s, stdout, stderr)
	case "plugins":
		return pluginsCommand(args[1:], stdout, stderr)
	case "healthcheck":
		s, code := loadSettings(args[1:], environ, stdout, stderr)
		if code >= 0 {
			return code
		}
		return healthcheckCommand(s, stdout, stderr)
	case "config":
		return configCommand(args[1:], environ, stdout, stderr)
	case "version", "--version", "-v":
		_, _ = fmt.Fprintln(stdout, version)
		return ExitOK
	case "help", "--help", "-h":
		_, _ = fmt.Fprint(stdout, usage)
		return ExitOK
	}
	_, _ = fmt.Fprintf(stderr, "gatehouse: unknown command %q\n\n%s", args[0], usage)
	return ExitUsage
}

// loadSettings returns the settings, or an exit code >= 0 when the process
// should stop (help shown, or invalid settings reported).
func loadSettings(args, environ []string, stdout, stderr io.Writer) (config.Settings, int) {
	for _, a := range args {
		if a == "--help" || a == "-h" || a == "-help" {
			printSettingsHelp(stdout)
			return config.Settings{}, ExitOK
		}
	}
	s, err := config.Load(args, environ)
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "gatehouse: invalid settings:")
		for _, e := range flatten(err) {
			_, _ = fmt.Fprintln(stderr, "  - "+e.Error())
		}
		return s, ExitUsage
	}
	return s, -1
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func printSettingsHelp(w io.Writer) {
	var b strings.Builder
	b.WriteString("Settings (flag, environment variable, key in the --config YAML file; flags win over the environment, which wins over the file):\n\n")
	for _, e := range config.Defaults().Describe() {
		flagName := "(no flag: secret)"
		if e.Flag != "-" {
			flagName = "--" + e.Flag
		}
		fmt.Fprintf(&b, "  %-22s %-32s %-16s %s (default %q)\n", flagName, e.Env, e.Key, e.Help, e.Value)
	}
	b.WriteString("\n  --config               GATEHOUSE_CONFIG                 YAML settings file\n")
	_, _ = io.WriteString(w, b.String())
}

var errShutdownTimeout = errors.New("shutdown timeout exceeded")
