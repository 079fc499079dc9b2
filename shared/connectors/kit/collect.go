package kit

import (
	"context"
	"net/url"
)

// Position is where a listing continues: the upstream page (its query, or
// a provider's own cursor) and how many of its items an earlier discovery
// page already returned. The zero Position is the first page.
type Position struct {
	Page string `json:"q,omitempty"`
	Skip int    `json:"s,omitempty"`
}

// Valid is the check DecodeCursor runs on a Position: a cursor always names
// an upstream page or a skip into the first one.
func (p Position) Valid() bool { return p.Skip >= 0 && (p.Page != "" || p.Skip > 0) }

// Query reads Page as an upstream query (a decoded cursor was checked by
// Valid, not parsed): a malformed one is INVALID_CONFIG.
func (p Position) Query() (url.Values, error) {
	q, err := url.ParseQuery(p.Page)
	if err != nil {
		return nil, badCursor()
	}
	return q, nil
}

// FetchFunc reads the upstream page at page ("" = the first) asking for
// about want items; it returns them and the next page ("" = the last).
type FetchFunc[T any] func(ctx context.Context, page string, want int) (items []T, next string, err error)

// Collector fills one discovery page from an upstream listing whose pages
// do not line up with it: a name filter drops items, a caller's page size
// differs from the upstream's.
type Collector struct {
	// Size is the discovery page size (PageSize clamps a caller's hint).
	Size int
	// MaxRequests bounds the upstream pages one call reads while the filter
	// leaves the page short; the returned cursor continues from there.
	MaxRequests int
	// StopOnEmpty ends the listing at an empty upstream page even when it
	// names a next one (APIs whose pages are never empty before the end).
	// Slack pages after filtering and may send empty pages mid-listing.
	StopOnEmpty bool
}

// Collect reads upstream pages from start until c.Size items pass keep
// (nil: all), the listing ends or MaxRequests pages were read. It returns
// the items and the position of the rest, nil at the end.
func Collect[T any](ctx context.Context, c Collector, start Position, keep func(T) bool, fetch FetchFunc[T]) ([]T, *Position, error) {
	out := make([]T, 0, min(c.Size, 256))
	pos := start
	for n := 1; ; n++ {
		items, next, err := fetch(ctx, pos.Page, c.Size-len(out))
		if err != nil {
			return nil, nil, err
		}
		for i := min(pos.Skip, len(items)); i < len(items); i++ {
			if len(out) == c.Size {
				return out, &Position{Page: pos.Page, Skip: i}, nil
			}
			if keep == nil || keep(items[i]) {
				out = append(out, items[i])
			}
		}
		switch {
		case next == "" || (c.StopOnEmpty && len(items) == 0):
			return out, nil, nil
		case len(out) >= c.Size || n >= c.MaxRequests:
			return out, &Position{Page: next}, nil
		}
		pos = Position{Page: next}
	}
}
