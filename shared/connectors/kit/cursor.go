package kit

import (
	"bytes"
	"encoding/base64"
	"encoding/json"

	"github.com/stella-ops/inthub/shared/resilience"
)

// MaxCursorLength bounds a cursor a caller hands back; ours stay far below
// (an upstream query or an offset).
const MaxCursorLength = 4096

// EncodeCursor makes v an opaque, URL-safe discovery cursor: base64url of
// its JSON. Callers treat it as opaque; it is not a secret and not signed,
// so DecodeCursor checks everything it reads.
func EncodeCursor(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("kit: cursor type cannot be encoded: " + err.Error()) // a programming error
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor from EncodeCursor into a T and checks it with
// valid (nil: any value). "" is the first page: the zero T. A cursor that
// is too long, not base64url, not JSON of T (unknown fields included) or not
// valid is INVALID_CONFIG: a caller edited it, or another provider issued
// it.
func DecodeCursor[T any](cursor string, valid func(T) bool) (T, error) {
	var zero, v T
	if cursor == "" {
		return zero, nil
	}
	if len(cursor) > MaxCursorLength {
		return zero, badCursor()
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return zero, badCursor()
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil || dec.More() || (valid != nil && !valid(v)) {
		return zero, badCursor()
	}
	return v, nil
}

func badCursor() error {
	return resilience.New(resilience.InvalidConfig, "the discovery cursor is not one this provider issued")
}
