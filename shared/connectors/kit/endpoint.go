package kit

import (
	"net/url"
	"strings"
)

// Endpoint returns base with escapedPath appended to its path and query as
// its query. escapedPath is already escaped (build it with Segments), so a
// name holding '/' stays one segment ("/projects/group%2Fapp").
func Endpoint(base *url.URL, escapedPath string, query url.Values) string {
	u := *base
	raw := base.EscapedPath() + escapedPath
	p, err := url.PathUnescape(raw)
	if err != nil {
		// Segments never produces this; keep the literal text rather than
		// guess what was meant.
		p = raw
	}
	u.Path, u.RawPath = p, raw
	u.RawQuery = ""
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	return u.String()
}

// Segments escapes each segment on its own and joins them into a path with
// a leading '/': Segments("repos", "acme", "app") is "/repos/acme/app",
// Segments("projects", "g/app") is "/projects/g%2Fapp".
func Segments(segs ...string) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}
