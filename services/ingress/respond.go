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

	"github.com/stella-ops/inthub/shared/apierr"
)

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
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
// merge-patch+json where allowed), the size is bounded, unknown fields and
// trailing data are refused. Errors never echo the body.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any, mediaTypes ...string) error {
	if len(mediaTypes) == 0 {
		mediaTypes = []string{"application/json"}
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !contains(mediaTypes, mt) {
		return apierr.New(http.StatusUnsupportedMediaType, apierr.UnsupportedMediaType, "Content-Type must be %s", strings.Join(mediaTypes, " or "))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return apierr.New(http.StatusRequestEntityTooLarge, apierr.PayloadTooLarge, "request body is larger than %d bytes", limit)
	}
	if err != nil {
		return apierr.BadRequest(apierr.MalformedJSON, "request body could not be read")
	}
	return DecodeJSON(body, v)
}

// DecodeJSON decodes one JSON value strictly into v.
func DecodeJSON(body []byte, v any) error {
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
