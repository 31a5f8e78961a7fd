// Package web holds the Gatehouse console: a Vite + React single-page
// application built into web/dist and embedded into the binary.
//
// `npm run build` (run by `make build` when Node.js is installed) writes the
// console into web/dist. Without it, web/dist holds only a tracked .gitkeep
// and Dist serves the placeholder page, so `go build` and `go test` work on
// machines without Node.js.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist placeholder
var files embed.FS

// Dist returns the console's static files, rooted so that "index.html" and
// "assets/…" are at the top: the built console when web/dist has an
// index.html, otherwise a one-page placeholder saying the console was not
// built. The returned file system is read-only and safe for concurrent use.
func Dist() fs.FS {
	return distFrom(files)
}

// distFrom picks the built console or the placeholder out of embedded.
func distFrom(embedded fs.FS) fs.FS {
	if dist, err := fs.Sub(embedded, "dist"); err == nil {
		if _, err := fs.Stat(dist, "index.html"); err == nil {
			return dist
		}
	}
	placeholder, err := fs.Sub(embedded, "placeholder")
	if err != nil {
		// fs.Sub fails only for an invalid path; "placeholder" is valid.
		panic(err)
	}
	return placeholder
}
