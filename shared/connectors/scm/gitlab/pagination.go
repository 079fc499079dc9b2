package gitlab

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors/kit"
)

// nextQuery returns the query of the next page, nil on the last: the Link
// rel="next" target (keyset and offset pagination both send it), else
// X-Next-Page merged into the current query (offset pagination behind a
// proxy that drops Link).
func nextQuery(h http.Header, current url.Values) (url.Values, error) {
	if q, err := kit.NextQuery(h); q != nil || err != nil {
		return q, err
	}
	if n, err := strconv.Atoi(strings.TrimSpace(h.Get("X-Next-Page"))); err == nil && n > 0 {
		q := cloneValues(current)
		q.Set("page", strconv.Itoa(n))
		return q, nil
	}
	return nil, nil
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}
