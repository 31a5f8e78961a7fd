package freeport

import "testing"

func TestGetNeverReturnsAPortTwice(t *testing.T) {
	seen := map[int]bool{}
	for range 200 {
		p := Get(t)
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
}
