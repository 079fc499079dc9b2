// Package scmkit holds what the SCM providers whose APIs list an owner's
// repositories under an organization path or a user path, page by page
// with page numbers (GitHub, Gitea), share: the discovery cursor that keeps
// the owner's kind, and the Discover call around one paginated listing.
package scmkit

import (
	"context"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/contracts"
)

// The kinds of owner a provider lists repositories of under different
// paths; OwnerUnknown is looked up on the first page, and the cursor keeps
// the answer so later pages skip the lookup.
const (
	OwnerUnknown = ""
	OwnerOrg     = "org"
	OwnerUser    = "user"
)

// cursor is where a listing continues (the provider's page, as a number,
// and how many of its items an earlier Discover returned) and the kind of
// the owner whose repositories these are.
type cursor struct {
	kit.Position
	Kind string `json:"k,omitempty"`
}

func (c cursor) valid() bool {
	return kit.ValidPageNumber(c.Position) && (c.Kind == OwnerUnknown || c.Kind == OwnerOrg || c.Kind == OwnerUser)
}

// Listing is one paginated provider listing: Fetch reads page (1-based)
// of size items and returns them and the next page (0 at the end).
type Listing struct {
	Fetch func(ctx context.Context, page, size int) ([]contracts.Resource, int, error)
	// MatchPath matches the pattern on the path's last segment too
	// (repositories: "api-*" finds "acme/api-gateway").
	MatchPath bool
}

// Paging is how a provider's listings are read.
type Paging struct {
	// DefaultSize and MaxSize bound the page a caller gets (kit.PageSize).
	DefaultSize, MaxSize int
	// PerPage is the page size every provider request uses, so a
	// page-number cursor stays valid whatever page size a caller asks for.
	PerPage int
	// MaxRequests bounds the provider pages one Discover call reads while
	// a name filter leaves its page short; the cursor continues from there.
	MaxRequests int
}

// Discover answers q: it reads q's name pattern and cursor, asks choose for
// the listing of q.ResourceType given the owner kind the cursor holds
// (choose returns the kind it listed, or kind unchanged where no owner is
// involved), and collects one page of the items the pattern keeps, the
// next cursor carrying the kind.
func Discover(ctx context.Context, q connectors.DiscoveryQuery, p Paging,
	choose func(ctx context.Context, kind string) (Listing, string, error)) (connectors.DiscoveryPage, error) {
	pattern, err := kit.ParsePattern(q.Filter.NamePattern)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	cur, err := kit.DecodeCursor(q.Cursor, cursor.valid)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	l, kind, err := choose(ctx, cur.Kind)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	keep := func(r contracts.Resource) bool {
		if l.MatchPath {
			return pattern.MatchPath(r.Name)
		}
		return pattern.Match(r.Name)
	}
	collector := kit.Collector{Size: kit.PageSize(q.PageSize, p.DefaultSize, p.MaxSize), MaxRequests: p.MaxRequests, StopOnEmpty: true}
	items, next, err := kit.Collect(ctx, collector, cur.Position, keep,
		kit.NumberedPages(func(ctx context.Context, page int) ([]contracts.Resource, int, error) {
			return l.Fetch(ctx, page, p.PerPage)
		}))
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	page := connectors.DiscoveryPage{Items: items}
	if next != nil {
		page.NextCursor = kit.EncodeCursor(cursor{Position: *next, Kind: kind})
	}
	return page, nil
}

// CheckRepositories reads one repository of the listing repositories gives
// for an owner of unknown kind (the lookup included): the real read a
// provider's CheckFunctionality makes, since discovery depends on it.
func CheckRepositories(ctx context.Context, repositories func(ctx context.Context, kind string) (Listing, string, error)) error {
	l, _, err := repositories(ctx, OwnerUnknown)
	if err != nil {
		return err
	}
	_, _, err = l.Fetch(ctx, 1, 1)
	return err
}
