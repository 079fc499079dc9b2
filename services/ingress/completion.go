package ingress

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// completion is what the ingress reads of an integration.discovery.completed:
// its request id, and either the result, passed on to the caller exactly as
// the worker encoded it, or the error.
type completion struct {
	RequestID string
	Result    []byte // nil when absent or null
	Error     *contracts.ErrorBody
}

// splitCompletion reads a completion in one pass over its bytes. The result
// (a page of up to 1,000 resources, tens of kilobytes) is checked to be
// well-formed JSON and sliced out, never decoded: encoding/json decoding it
// into a json.RawMessage scanned it twice with its general-purpose scanner,
// which cost more than encoding it had in the worker, on every cold
// discovery, while the caller waited. Only the small error member is
// decoded. ok is false for anything that is not one well-formed JSON object
// whose members decode as a completion's do. Member names are matched
// exactly, as the worker writes them.
func splitCompletion(data []byte) (c completion, ok bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return completion{}, false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return c.end(data, i+1)
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return completion{}, false
		}
		keyEnd, ok := skipString(data, i)
		if !ok {
			return completion{}, false
		}
		key := data[i+1 : keyEnd-1]
		i = skipSpace(data, keyEnd)
		if i >= len(data) || data[i] != ':' {
			return completion{}, false
		}
		start := skipSpace(data, i+1)
		end, ok := skipValue(data, start, 1)
		if !ok {
			return completion{}, false
		}
		if !c.member(string(key), data[start:end]) {
			return completion{}, false
		}
		i = skipSpace(data, end)
		if i >= len(data) {
			return completion{}, false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return c.end(data, i+1)
		default:
			return completion{}, false
		}
	}
}

// write answers c: 200 with the result as its worker encoded it, or the
// error with the status mapErr gives it (and Retry-After when the provider
// said how long to wait). The result is copied: it is a slice of the bus
// message, which other waiters may hold.
func (c completion) write(w http.ResponseWriter, mapErr func(contracts.ErrorBody) *apierr.Error) {
	if c.Error == nil {
		body := make([]byte, len(c.Result)+1)
		copy(body, c.Result)
		body[len(c.Result)] = '\n'
		writePage(w, body)
		return
	}
	if c.Error.Code == string(resilience.RateLimited) {
		if s, ok := c.Error.Details["retryAfterSeconds"].(float64); ok && s > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(s)))
		}
	}
	writeError(w, mapErr(*c.Error))
}

// end returns c if only white space follows the object ending at data[i].
func (c completion) end(data []byte, i int) (completion, bool) {
	if skipSpace(data, i) != len(data) {
		return completion{}, false
	}
	return c, true
}

// member sets the completion member named key (a later one of the same
// name wins, as with encoding/json) from its well-formed value; false when
// the value does not decode as that member's type.
func (c *completion) member(key string, value []byte) bool {
	null := string(value) == "null"
	switch key {
	case "requestId":
		c.RequestID = ""
		if null {
			return true
		}
		if len(value) >= 2 && value[0] == '"' && bytes.IndexByte(value, '\\') < 0 {
			c.RequestID = string(value[1 : len(value)-1])
			return true
		}
		return json.Unmarshal(value, &c.RequestID) == nil
	case "result":
		c.Result = nil
		if null {
			return true
		}
		if value[0] != '{' {
			return false
		}
		c.Result = value
	case "error":
		c.Error = nil
		if null {
			return true
		}
		var e contracts.ErrorBody
		if json.Unmarshal(value, &e) != nil {
			return false
		}
		c.Error = &e
	}
	return true
}

// maxNesting is encoding/json's own limit of nested arrays and objects.
const maxNesting = 10000

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipValue returns the end of the JSON value at b[i:] and whether it is
// well-formed, by the grammar json.Valid checks (strings are not checked
// for valid UTF-8, as json.Valid does not either).
func skipValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; {
	case c == '"':
		return skipString(b, i)
	case c == '{' || c == '[':
		if depth > maxNesting {
			return i, false
		}
		return skipComposite(b, i, depth)
	case c == '-' || (c >= '0' && c <= '9'):
		return skipNumber(b, i)
	case c == 't':
		return skipLiteral(b, i, "true")
	case c == 'f':
		return skipLiteral(b, i, "false")
	case c == 'n':
		return skipLiteral(b, i, "null")
	}
	return i, false
}

// skipComposite skips the object or array at b[i].
func skipComposite(b []byte, i, depth int) (int, bool) {
	object := b[i] == '{'
	closing := byte(']')
	if object {
		closing = '}'
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == closing {
		return i + 1, true
	}
	for {
		var ok bool
		if object {
			if i >= len(b) || b[i] != '"' {
				return i, false
			}
			if i, ok = skipString(b, i); !ok {
				return i, false
			}
			i = skipSpace(b, i)
			if i >= len(b) || b[i] != ':' {
				return i, false
			}
			i = skipSpace(b, i+1)
		}
		if i, ok = skipValue(b, i, depth+1); !ok {
			return i, false
		}
		i = skipSpace(b, i)
		switch {
		case i >= len(b):
			return i, false
		case b[i] == ',':
			i = skipSpace(b, i+1)
		case b[i] == closing:
			return i + 1, true
		default:
			return i, false
		}
	}
}

// skipString skips the string at b[i] (a '"').
func skipString(b []byte, i int) (int, bool) {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return i, false
		case c == '\\':
			i++
			if i >= len(b) {
				return i, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return i, false
				}
				for _, h := range b[i+1 : i+5] {
					if !isHex(h) {
						return i, false
					}
				}
				i += 4
			default:
				return i, false
			}
		}
	}
	return i, false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// skipNumber skips -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at b[i].
func skipNumber(b []byte, i int) (int, bool) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return i, false
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		i = skipDigits(b, i)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

func skipLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}
