package ingress

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/stella-ops/inthub/shared/apierr"
)

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// API answers are JSON read by programs and people, never embedded in
	// HTML: "Bearer <token>" must read as written, not "\u003ctoken\u003e".
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeError writes the one error shape; internal errors are not described.
func writeError(w http.ResponseWriter, err error) {
	e := apierr.From(err)
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="inthub"`)
	}
	writeJSON(w, e.Status, e.Body())
}

// decodeBody reads a JSON body into v: the content type must be JSON (or
// merge-patch+json where allowed) in UTF-8, the size is bounded, unknown
// fields and trailing data are refused. Errors never echo the body.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any, mediaTypes ...string) error {
	if len(mediaTypes) == 0 {
		mediaTypes = jsonOnly
	}
	// The usual header is one of the types as written, without parameters:
	// taken as it is, without parsing it (a map of its parameters).
	if ct := r.Header.Get("Content-Type"); !contains(mediaTypes, ct) {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || !contains(mediaTypes, mt) {
			return apierr.New(http.StatusUnsupportedMediaType, apierr.UnsupportedMediaType, "Content-Type must be %s", strings.Join(mediaTypes, " or "))
		}
		// JSON is UTF-8 (RFC 8259): a body declared in another charset would be
		// read as UTF-8 all the same and stored as something else.
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
			return apierr.New(http.StatusUnsupportedMediaType, apierr.UnsupportedMediaType,
				"Content-Type charset must be utf-8 (or left out), not %q", truncateRunes(cs, 40))
		}
	}
	body, err := readBody(w, r, limit)
	if err != nil {
		// Declared here, tooBig is on the heap only for a body refused
		// (errors.As takes its address).
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return apierr.New(http.StatusRequestEntityTooLarge, apierr.PayloadTooLarge, "request body is larger than %d bytes", limit)
		}
		return apierr.BadRequest(apierr.MalformedJSON, "request body could not be read")
	}
	return DecodeJSON(body, v)
}

// readBody reads r's body, at most limit bytes (a *http.MaxBytesError
// past it). A small body of a declared length is read into a buffer of that
// size; any other (chunked, declared larger than the limit, or larger than
// presizeMax) through http.MaxBytesReader, which also closes the connection
// after the answer to a body too large. The buffer is never sized past
// presizeMax from what the caller declares: a client announcing a
// megabyte and sending nothing must not make the hub hold a megabyte per
// connection.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	n := r.ContentLength
	if n < 0 || n > limit || n > presizeMax {
		return io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	}
	// One byte more than declared tells a body that holds more (a request
	// made in-process can say anything; net/http's never does). Read as
	// io.ReadAll would: up to EOF, whatever was declared.
	buf := make([]byte, n+1)
	got := 0
	for got < len(buf) {
		m, err := r.Body.Read(buf[got:])
		got += m
		if err == io.EOF {
			return buf[:got], nil
		}
		if err != nil {
			return nil, err
		}
	}
	return io.ReadAll(http.MaxBytesReader(w, io.NopCloser(io.MultiReader(bytes.NewReader(buf), r.Body)), limit))
}

// presizeMax is the largest body readBody sizes its buffer for from the
// declared length alone (the API's requests are a few kilobytes).
const presizeMax = 64 << 10

// jsonOnly is decodeBody's media types by default, made once.
var jsonOnly = []string{"application/json"}

// DecodeJSON decodes one JSON value strictly into v. Text the API could
// not give back as sent is refused rather than silently replaced by U+FFFD,
// as encoding/json would: bytes that are not UTF-8 and \u escapes of
// unpaired UTF-16 surrogates.
func DecodeJSON(body []byte, v any) error {
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

// truncateRunes cuts s to n runes, for echoing a header value.
func truncateRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

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

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// etag renders a revision as a strong ETag.
func etag(rev uint64) string { return `"` + strconv.FormatUint(rev, 10) + `"` }

// ifMatch parses If-Match: absent or * is unconditional (0); "N" is revision N.
// Anything else cannot match any revision, so it fails the precondition.
func ifMatch(r *http.Request) (uint64, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" || v == "*" {
		return 0, nil
	}
	n, err := strconv.ParseUint(strings.Trim(v, `"`), 10, 64)
	if err != nil || n == 0 || !strings.HasPrefix(v, `"`) || !strings.HasSuffix(v, `"`) {
		return 0, apierr.New(http.StatusPreconditionFailed, apierr.PreconditionFailed, `If-Match must be an ETag this API returned, like "3"`)
	}
	return n, nil
}
