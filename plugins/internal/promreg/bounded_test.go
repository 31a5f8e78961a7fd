package promreg

import (
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBoundedKeepsTheFirstValuesAndCountsTheRestAsOther(t *testing.T) {
	b := NewBounded(3, 10)
	for _, v := range []string{"gpt-4o", "gpt-4o", "claude", "o3"} {
		require.Equal(t, v, b.Of(v))
	}
	require.Equal(t, Other, b.Of("random-1"), "a fourth value")
	require.Equal(t, "claude", b.Of("claude"), "kept values stay")
	require.Equal(t, Other, NewBounded(3, 10).Of(strings.Repeat("x", 11)), "too long")
	require.Equal(t, "o3", b.Known("o3"))
	require.Equal(t, Other, NewBounded(3, 10).Known("o3"), "Known never adds a value")

	// Concurrent first sightings never keep more than max.
	b = NewBounded(50, 10)
	var wg sync.WaitGroup
	kept := make(chan string, 1000)
	for g := 0; g < 10; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if v := b.Of(strconv.Itoa(g*100 + i)); v != Other {
					kept <- v
				}
			}
		}(g)
	}
	wg.Wait()
	close(kept)
	n := 0
	for range kept {
		n++
	}
	require.Equal(t, 50, n)
}
