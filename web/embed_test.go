package web

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

func TestDistServesAnIndexPage(t *testing.T) {
	index, err := fs.ReadFile(Dist(), "index.html")
	if err != nil {
		t.Fatalf("the console has no index.html: %v", err)
	}
	page := string(index)
	built := strings.Contains(page, `<div id="root">`)
	placeholder := strings.Contains(page, "The Gatehouse console was not built")
	if built == placeholder {
		t.Fatalf("index.html is neither the built console nor the placeholder:\n%s", page)
	}
	if built {
		// A built console must ship the scripts its index.html loads.
		for _, src := range scriptSources(page) {
			if _, err := fs.Stat(Dist(), strings.TrimPrefix(src, "/")); err != nil {
				t.Errorf("index.html loads %s, which is not embedded: %v", src, err)
			}
		}
	}
}

func TestDistFrom(t *testing.T) {
	const placeholderPage = "The Gatehouse console was not built"
	tests := []struct {
		name     string
		files    fstest.MapFS
		wantPage string
	}{
		{
			name: "built console",
			files: fstest.MapFS{
				"dist/.gitkeep":            {},
				"dist/index.html":          {Data: []byte(`<div id="root"></div>`)},
				"dist/assets/index-abc.js": {Data: []byte("console.log(1)")},
				"placeholder/index.html":   {Data: []byte(placeholderPage)},
			},
			wantPage: `<div id="root"></div>`,
		},
		{
			name: "not built",
			files: fstest.MapFS{
				"dist/.gitkeep":          {},
				"placeholder/index.html": {Data: []byte(placeholderPage)},
			},
			wantPage: placeholderPage,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fs.ReadFile(distFrom(tt.files), "index.html")
			if err != nil {
				t.Fatalf("read index.html: %v", err)
			}
			if string(got) != tt.wantPage {
				t.Fatalf("index.html = %q, want %q", got, tt.wantPage)
			}
		})
	}
}

// scriptSources returns the src of every <script> in page.
func scriptSources(page string) []string {
	var srcs []string
	for _, part := range strings.Split(page, "<script")[1:] {
		_, rest, ok := strings.Cut(part, ` src="`)
		if !ok {
			continue
		}
		if src, _, ok := strings.Cut(rest, `"`); ok {
			srcs = append(srcs, src)
		}
	}
	return srcs
}
