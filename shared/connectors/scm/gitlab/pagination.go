package gitlab

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/stella-ops/inthub/shared/resilience"
)

const (
	maxCursorLength  = 4096
	maxPatternLength = 512
)

// nextQuery returns the query of the next page, or nil on the last: the
// Link rel="next" target (keyset and offset pagination both send it), else
// X-Next-Page merged into the current query (offset pagination behind a
// proxy that drops Link). Only the query is kept: the next request goes to
// our own endpoint, never to a host or path an answer names.
func nextQuery(h http.Header, current url.Values) url.Values {
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
	if n, err := strconv.Atoi(strings.TrimSpace(h.Get("X-Next-Page"))); err == nil && n > 0 {
		q := cloneValues(current)
		q.Set("page", strconv.Itoa(n))
		return q
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

// cursor is where a listing continues: the query of a GitLab page and how
// many of its items an earlier Discover already returned (a page holds more
// matches than a discovery page may).
type cursor struct {
	Query string `json:"q"`
	Skip  int    `json:"s,omitempty"`
}

func encodeCursor(q url.Values, skip int) string {
	b, _ := json.Marshal(cursor{Query: q.Encode(), Skip: skip})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor from encodeCursor; "" is the first page (nil
// query).
func decodeCursor(s string) (url.Values, int, error) {
	if s == "" {
		return nil, 0, nil
	}
	bad := resilience.New(resilience.InvalidConfig, "the discovery cursor is not one this provider issued")
	if len(s) > maxCursorLength {
		return nil, 0, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, 0, bad
	}
	var c cursor
	if json.Unmarshal(raw, &c) != nil || c.Skip < 0 || c.Query == "" {
		return nil, 0, bad
	}
	q, err := url.ParseQuery(c.Query)
	if err != nil {
		return nil, 0, bad
	}
	return q, c.Skip, nil
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// checkPattern refuses a malformed or oversized glob up front, so a bad
// filter fails the call rather than silently matching nothing.
func checkPattern(pattern string) error {
	if len(pattern) > maxPatternLength {
		return resilience.New(resilience.InvalidConfig, "filter.namePattern is longer than %d characters", maxPatternLength)
	}
	if _, err := path.Match(pattern, ""); errors.Is(err, path.ErrBadPattern) {
		return resilience.New(resilience.InvalidConfig, "filter.namePattern is not a valid glob (path.Match syntax)")
	}
	return nil
}

// matches applies a checked glob to a name; "" matches everything, and a
// pattern without '/' also matches the name's last segment.
func matches(pattern, name string) bool {
	if pattern == "" {
		return true
	}
	if ok, _ := path.Match(pattern, name); ok {
		return true
	}
	if strings.Contains(pattern, "/") {
		return false
	}
	ok, _ := path.Match(pattern, path.Base(name))
	return ok
}
