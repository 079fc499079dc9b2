package kit

import (
	"context"
	"strconv"
)

// NumberedPages adapts a listing paged by page number (GitHub's and
// Gitea's page=N, as their SDKs take it) to a FetchFunc: page "" is 1, any
// other is the number the previous answer named as next; a next of 0 ends
// the listing. Check a decoded cursor's page with ValidPageNumber.
func NumberedPages[T any](fetch func(ctx context.Context, page int) (items []T, next int, err error)) FetchFunc[T] {
	return func(ctx context.Context, page string, _ int) ([]T, string, error) {
		n := 1
		if page != "" {
			var err error
			if n, err = strconv.Atoi(page); err != nil || n < 1 {
				return nil, "", badCursor()
			}
		}
		items, next, err := fetch(ctx, n)
		if err != nil || next <= 0 {
			return items, "", err
		}
		if next <= n {
			// A server naming the same page (or an earlier one) as next
			// would loop; the listing ends where it stops advancing.
			return items, "", nil
		}
		return items, strconv.Itoa(next), nil
	}
}

// ValidPageNumber reports whether p is a Position NumberedPages issues: a
// valid Position whose page is "" or a page number above 1.
func ValidPageNumber(p Position) bool {
	if !p.Valid() {
		return false
	}
	if p.Page == "" {
		return true
	}
	n, err := strconv.Atoi(p.Page)
	return err == nil && n > 1 && strconv.Itoa(n) == p.Page
}
