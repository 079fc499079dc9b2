package discovery

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/cache"
)

// maxCursorLength bounds a cursor before it is decoded.
const maxCursorLength = 256

// Cursor continues a discovery result: an offset into the cached result,
// the version of that result (its discoveredAt in Unix nanoseconds), and a
// fingerprint of the key, so a cursor is refused for another query. See
// docs/decisions/discovery-results.md.
//
// A cursor of an ordered result also names the position in the result of
// the last item it returned (last), where the next page's pass starts
// (orderedPage); -1 in any other cursor.
type Cursor struct {
	offset  int
	version int64
	last    int
}

// fingerprint is 8 hex digits of the SHA-256 of the cache key.
func fingerprint(key cache.Key) string {
	sum := sha256.Sum256([]byte(key.String()))
	return hex.EncodeToString(sum[:4])
}

// encodeCursor renders "<offset>.<version>.<fingerprint>[.<last>]" as
// base64url.
func encodeCursor(c Cursor, key cache.Key) string {
	raw := strconv.Itoa(c.offset) + "." + strconv.FormatInt(c.version, 10) + "." + fingerprint(key)
	if c.last >= 0 {
		raw += "." + strconv.Itoa(c.last)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func badCursor(format string, args ...any) *RequestError {
	return Refuse(apierr.InvalidCursor, nil, format, args...)
}

// DecodeCursor reads a cursor a result's nextCursor gave for key ("" is
// the zero Cursor: the first page); one of another key, or none of ours,
// is an INVALID_CURSOR RequestError.
func DecodeCursor(s string, key cache.Key) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	bad := badCursor("the cursor is not a nextCursor of this discovery (same resource type and filter)")
	if len(s) > maxCursorLength {
		return Cursor{}, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, bad
	}
	parts := strings.Split(string(raw), ".")
	if (len(parts) != 3 && len(parts) != 4) || parts[2] != fingerprint(key) {
		return Cursor{}, bad
	}
	last := -1
	if len(parts) == 4 {
		n, err := strconv.Atoi(parts[3])
		if err != nil || n < 0 {
			return Cursor{}, bad
		}
		last = n
	}
	offset, err1 := strconv.Atoi(parts[0])
	version, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || offset < 0 {
		return Cursor{}, bad
	}
	return Cursor{offset: offset, version: version, last: last}, nil
}
