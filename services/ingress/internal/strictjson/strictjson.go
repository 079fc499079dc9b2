// Package strictjson decodes API request bodies strictly: one JSON value,
// no unknown fields, no trailing data, and only text the API can give back
// as it was sent. Every refusal is a 400 with an error code; no error
// echoes a value from the body (an unknown field is named, cut to 64
// bytes).
//
// It is a package of its own so that its fuzz test (`make fuzz`) builds
// and instruments this package and the standard library, not the whole
// ingress.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/stella-ops/inthub/shared/apierr"
)

// Decode decodes one JSON value strictly into v. Text the API could
// not give back as sent is refused rather than silently replaced by U+FFFD,
// as encoding/json would: bytes that are not UTF-8 and \u escapes of
// unpaired UTF-16 surrogates.
func Decode(body []byte, v any) error {
	if at := invalidUTF8At(body); at >= 0 {
		return apierr.BadRequest(apierr.MalformedJSON, "request body is not valid UTF-8 (at byte %d): JSON text must be UTF-8", at)
	}
	if at := unpairedSurrogateAt(body); at >= 0 {
		return apierr.BadRequest(apierr.MalformedJSON, "request body holds an unpaired UTF-16 surrogate escape (at byte %d): it is no character and cannot be stored", at)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return classifyDecodeError(err)
	}
	if dec.More() {
		return apierr.BadRequest(apierr.MalformedJSON, "request body holds more than one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return apierr.BadRequest(apierr.MalformedJSON, "request body holds data after its JSON value")
	}
	return nil
}

// invalidUTF8At is the offset of the first byte of b that is not UTF-8, or -1.
func invalidUTF8At(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// unpairedSurrogateAt is the offset of the first \uXXXX escape in b of a
// UTF-16 surrogate that is not half of a high-low pair, or -1. Outside
// strings a backslash is a syntax error anyway, so b is not parsed.
func unpairedSurrogateAt(b []byte) int {
	for i := 0; i+1 < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if b[i+1] != 'u' {
			i++ // an escaped character, perhaps a backslash
			continue
		}
		r, ok := hex4(b, i+2)
		switch {
		case !ok || r < 0xD800 || r > 0xDFFF:
		case r >= 0xDC00:
			return i // a low surrogate first
		default:
			low, ok := hex4(b, i+8)
			if !ok || b[i+6] != '\\' || b[i+7] != 'u' || low < 0xDC00 || low > 0xDFFF {
				return i
			}
			i += 6
		}
		i += 5
	}
	return -1
}

// hex4 reads four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// classifyDecodeError maps encoding/json's errors to the API's codes.
func classifyDecodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var api *apierr.Error
	switch {
	case errors.As(err, &api):
		return api
	case errors.As(err, &syntax):
		return apierr.BadRequest(apierr.MalformedJSON, "request body is not valid JSON (at byte %d)", syntax.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return apierr.BadRequest(apierr.MalformedJSON, "request body must be a JSON object")
		}
		return apierr.BadRequest(apierr.InvalidFieldType, "field %q must be %s", field, jsonKind(typ.Type.Kind().String())).With("field", field)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return apierr.BadRequest(apierr.MalformedJSON, "request body is empty or cut short")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if len(name) > 64 {
			name = name[:64]
		}
		return apierr.BadRequest(apierr.UnknownField, "field %q is not part of this request", name).With("field", name)
	}
	return apierr.BadRequest(apierr.MalformedJSON, "request body is not valid JSON")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "an array"
	case "bool":
		return "a boolean"
	}
	return fmt.Sprintf("of another type (%s)", goKind)
}
