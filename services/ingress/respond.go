package ingress

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/stella-ops/inthub/services/ingress/internal/strictjson"
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
	return strictjson.Decode(body, v)
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

// truncateRunes cuts s to n runes, for echoing a header value.
func truncateRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
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
