// Command gatehouse is the all-in-one AI gateway: one process with the
// gateway listener, the console and admin API, and the bundled plugins.
//
// Usage:
//
//	gatehouse serve [flags]            start the gateway and console
//	gatehouse verify-plugins [flags]   verify the plugin artifacts and exit
//	gatehouse plugins manifest --dir D [--required a,b]
//	                                   write D/manifest.json (used by make plugins)
//	gatehouse version                  print the version
//
// Exit codes are documented in README.md and in package app.
package main

import (
	"os"

	"github.com/gatehouse-dev/gatehouse/server/internal/app"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(app.Main(version, os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}
