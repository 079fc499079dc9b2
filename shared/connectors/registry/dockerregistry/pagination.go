package dockerregistry

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/stella-ops/inthub/shared/resilience"
)

const maxCursorLength = 4096

// nextQuery returns the query of the Link rel="next" target, or nil. Only
// the query is kept: the next request goes to our own endpoint, never to a
// host or path the answer names.
func nextQuery(h http.Header) url.Values {
	for _, v := range h.Values("Link") {
		for v != "" {
			start := strings.IndexByte(v, '<')
			end := strings.IndexByte(v, '>')
			if start < 0 || end < start {
				break
			}
			target, params := v[start+1:end], v[end+1:]
			if i := strings.IndexByte(params, '<'); i >= 0 {
				params, v = params[:i], params[i:]
			} else {
				v = ""
			}
			if !relNext(params) {
				continue
			}
			u, err := url.Parse(target)
			if err != nil {
				return nil
			}
			return u.Query()
		}
	}
	return nil
}

// relNext reports whether link parameters (`; rel="next"`) say rel=next.
func relNext(params string) bool {
	for _, p := range strings.Split(params, ";") {
		name, value, ok := strings.Cut(strings.TrimSpace(strings.TrimRight(strings.TrimSpace(p), ",")), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "rel") {
			continue
		}
		for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(value), `"`)) {
			if strings.EqualFold(rel, "next") {
				return true
			}
		}
	}
	return false
}

// encodeCursor makes the registry's next-page query an opaque cursor.
func encodeCursor(q url.Values) string {
	q = cloneValues(q)
	q.Del("n") // each Discover sets its own page size
	s := q.Encode()
	if s == "" {
		s = "n" // a registry may paginate by n alone; the cursor must not be empty
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// decodeCursor reads a cursor from encodeCursor; "" is the first page.
func decodeCursor(cursor string) (url.Values, error) {
	if cursor == "" {
		return url.Values{}, nil
	}
	bad := resilience.New(resilience.InvalidConfig, "the discovery cursor is not one this provider issued")
	if len(cursor) > maxCursorLength {
		return nil, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, bad
	}
	q, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, bad
	}
	return q, nil
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}
