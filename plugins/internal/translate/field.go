package translate

import (
	"strconv"
	"strings"
)

// fieldPath names a field of the client's body, such as
// "messages[2].content[0]". It is a value built without allocating and
// formatted only when an error names it.
type fieldPath struct {
	parts [6]string
	idx   [6]int // -1: the part has no index
	n     int
}

// field starts a path at a top-level field.
func field(name string) fieldPath {
	var f fieldPath
	return f.dot(name)
}

// dot appends ".name" (or name, at the top).
func (f fieldPath) dot(name string) fieldPath {
	if f.n < len(f.parts) {
		f.parts[f.n], f.idx[f.n] = name, -1
		f.n++
	}
	return f
}

// at appends "[i]".
func (f fieldPath) at(i int) fieldPath {
	if f.n > 0 && f.idx[f.n-1] < 0 {
		f.idx[f.n-1] = i
		return f
	}
	if f.n < len(f.parts) {
		f.parts[f.n], f.idx[f.n] = "", i
		f.n++
	}
	return f
}

func (f fieldPath) String() string {
	var b strings.Builder
	for k := 0; k < f.n; k++ {
		if k > 0 && f.parts[k] != "" {
			b.WriteByte('.')
		}
		b.WriteString(f.parts[k])
		if f.idx[k] >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(f.idx[k]))
			b.WriteByte(']')
		}
	}
	return b.String()
}
