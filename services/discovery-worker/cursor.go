package discoveryworker

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

// cursor continues a discovery result: an offset into the cached result,
// the version of that result (its discoveredAt in Unix nanoseconds), and a
// fingerprint of the key, so a cursor is refused for another query. See
// docs/decisions/discovery-results.md.
//
// A cursor of an ordered result also names the position in the result of
// the last item it returned (last), where the next page's pass starts
// (orderedPage); -1 in any other cursor.
type cursor struct {
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
func encodeCursor(c cursor, key cache.Key) string {
	raw := strconv.Itoa(c.offset) + "." + strconv.FormatInt(c.version, 10) + "." + fingerprint(key)
	if c.last >= 0 {
		raw += "." + strconv.Itoa(c.last)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func badCursor(format string, args ...any) *requestError {
	return refuse(apierr.InvalidCursor, nil, format, args...)
}

// decodeCursor reads a cursor from encodeCursor for key.
func decodeCursor(s string, key cache.Key) (cursor, error) {
	bad := badCursor("the cursor is not a nextCursor of this discovery (same resource type and filter)")
	if len(s) > maxCursorLength {
		return cursor{}, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, bad
	}
	parts := strings.Split(string(raw), ".")
	if (len(parts) != 3 && len(parts) != 4) || parts[2] != fingerprint(key) {
		return cursor{}, bad
	}
	last := -1
	if len(parts) == 4 {
		n, err := strconv.Atoi(parts[3])
		if err != nil || n < 0 {
			return cursor{}, bad
		}
		last = n
	}
	offset, err1 := strconv.Atoi(parts[0])
	version, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || offset < 0 {
		return cursor{}, bad
	}
	return cursor{offset: offset, version: version, last: last}, nil
}
