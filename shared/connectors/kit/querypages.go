package kit

import (
	"context"
	"maps"
	"net/http"
	"net/url"
)

// QueryPages adapts a listing paged by its query (Link rel="next", offset
// or keyset parameters) to a FetchFunc: page "" is first, any other page is
// the query the previous answer named. Every request also carries fixed
// (per_page: a fixed upstream page size keeps a cursor's skip valid
// whatever page size the caller asks for). next reads the next query from
// an answer (NextQuery, or a provider's variant); nil ends the listing.
func QueryPages[T any](first, fixed url.Values,
	fetch func(ctx context.Context, query url.Values) ([]T, http.Header, error),
	next func(h http.Header, current url.Values) (url.Values, error),
) FetchFunc[T] {
	return func(ctx context.Context, page string, _ int) ([]T, string, error) {
		query := url.Values{}
		for k, v := range first {
			query[k] = append([]string(nil), v...)
		}
		if page != "" {
			var err error
			if query, err = (Position{Page: page}).Query(); err != nil {
				return nil, "", err
			}
		}
		maps.Copy(query, fixed)
		items, header, err := fetch(ctx, query)
		if err != nil {
			return nil, "", err
		}
		q, err := next(header, query)
		if err != nil || q == nil {
			return items, "", err
		}
		return items, q.Encode(), nil
	}
}

// LinkNext is the next function of QueryPages for APIs that page by the
// Link header alone.
func LinkNext(h http.Header, _ url.Values) (url.Values, error) { return NextQuery(h) }
