package front

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// ReadAll reads what io.ReadAll reads, whatever the declared size says,
// in one buffer of the declared size when it is right.
func TestReadAllReadsWhatIoReadAllReads(t *testing.T) {
	long := strings.Repeat("x", 100_000)
	for _, body := range []string{"", "{}", `{"jsonrpc":"2.0"}`, long} {
		for _, size := range []int64{-1, 0, 1, int64(len(body)), int64(len(body)) + 7, 1 << 40} {
			got, err := ReadAll(iotest.OneByteReader(strings.NewReader(body)), size)
			if err != nil || string(got) != body {
				t.Fatalf("body of %d bytes, size %d: %d bytes, %v", len(body), size, len(got), err)
			}
			if size == int64(len(body)) && size < 4<<10 && cap(got) != len(body)+1 {
				t.Errorf("a declared size of %d took a buffer of %d", size, cap(got))
			}
		}
	}
	// A declared size is not an allocation a client can ask for.
	got, err := ReadAll(strings.NewReader(""), 1<<30)
	if err != nil || cap(got) > 4<<10 {
		t.Fatalf("a declared 1 GiB took a buffer of %d bytes (%v)", cap(got), err)
	}
	failing := io.MultiReader(bytes.NewReader([]byte("ab")), iotest.ErrReader(errors.New("reset")))
	got, err = ReadAll(failing, 10)
	if err == nil || string(got) != "ab" {
		t.Fatalf("a failing read: %q, %v", got, err)
	}
}
