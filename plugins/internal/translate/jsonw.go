package translate

import (
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"
)

// parseJSON parses b without copying it. The strings in the result point
// into b: clone those kept after b is reused.
func parseJSON(b []byte) gjson.Result {
	return gjson.Parse(unsafe.String(unsafe.SliceData(b), len(b)))
}

// jw appends JSON to a byte slice. It inserts the commas between members
// and elements itself, so that translations read as the shape they build.
// Containers nest at most 64 deep (the translations nest less than 10).
type jw struct {
	b        []byte
	depth    uint
	first    uint64 // bit d: the container at depth d has no member yet
	afterKey bool
}

func (w *jw) sep() {
	if w.afterKey {
		w.afterKey = false
		return
	}
	if w.depth > 0 {
		bit := uint64(1) << (w.depth - 1)
		if w.first&bit != 0 {
			w.first &^= bit
		} else {
			w.b = append(w.b, ',')
		}
	}
}

func (w *jw) open(c byte) {
	w.sep()
	w.b = append(w.b, c)
	w.depth++
	w.first |= uint64(1) << (w.depth - 1)
}

func (w *jw) obj() { w.open('{') }
func (w *jw) arr() { w.open('[') }
func (w *jw) end(c byte) {
	w.depth--
	w.b = append(w.b, c)
}
func (w *jw) endObj() { w.end('}') }
func (w *jw) endArr() { w.end(']') }

func (w *jw) key(k string) {
	w.sep()
	w.b = appendJSONString(w.b, k)
	w.b = append(w.b, ':')
	w.afterKey = true
}

func (w *jw) str(s string) { w.sep(); w.b = appendJSONString(w.b, s) }
func (w *jw) int(n int64)  { w.sep(); w.b = strconv.AppendInt(w.b, n, 10) }
func (w *jw) raw(r string) { w.sep(); w.b = append(w.b, r...) }
func (w *jw) null()        { w.sep(); w.b = append(w.b, "null"...) }
func (w *jw) bool(v bool)  { w.sep(); w.b = strconv.AppendBool(w.b, v) }

// rawStr writes a string value read from a validated body as it was
// written there (no unescaping and escaping again); anything that is not
// a string becomes "".
func (w *jw) rawStr(v gjson.Result) {
	if v.Type == gjson.String {
		w.raw(v.Raw)
		return
	}
	w.str("")
}
func (w *jw) kstr(k, s string)       { w.key(k); w.str(s) }
func (w *jw) kint(k string, n int64) { w.key(k); w.int(n) }
func (w *jw) kraw(k, r string)       { w.key(k); w.raw(r) }

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 break JavaScript that evaluates JSON.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
