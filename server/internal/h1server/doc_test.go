package h1server

import "testing"

func TestParseEngine(t *testing.T) {
	for in, want := range map[string]Engine{"": Std, "std": Std, "fast": Fast} {
		if got, ok := ParseEngine(in); !ok || got != want {
			t.Errorf("ParseEngine(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if _, ok := ParseEngine("Fast "); ok {
		t.Error("ParseEngine accepted an unknown value")
	}
}
