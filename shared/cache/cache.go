// Package cache is the discovery cache: the full result of one discovery
// (tenant, integration, resource type, filter) kept for a TTL declared per
// resource type, filled once however many callers miss it at the same time,
// and emptied per integration when the integration changes.
//
// Two implementations pass one test suite (cachetest): Redis, shared by every
// discovery-worker replica (single flight across replicas through a lock in
// Redis), and Memory, the in-process cache of `make run`. When Redis cannot
// be reached, Redis answers uncached and says so in its metrics and log.
package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
)

// KeyPrefix starts every entry key:
// inthub:discovery:{<tenant>:<integrationId>}:<resourceType>:<filterHash>.
// The braces are a Redis Cluster hash tag: every key of one integration
// (entries, chunks, lock, generation, index) hashes to the same slot, so the
// scripts that touch several of them run on Cluster too.
const KeyPrefix = "inthub:discovery:"

// Key names one discovery result.
type Key struct {
	TenantID      string
	IntegrationID string
	ResourceType  string
	Filter        contracts.DiscoveryFilter
	// Revision is the integration revision the result is for: an entry
	// discovered with another revision's configuration is a miss, even in
	// the moment before that revision's invalidation has run.
	Revision uint64
}

// String is the storage key (docs/architecture.md, "Stores"). The revision is
// not part of it: a new revision replaces the entry instead of adding one.
func (k Key) String() string {
	return KeyPrefix + hashTag(k.TenantID, k.IntegrationID) + ":" + k.ResourceType + ":" + FilterHash(k.Filter)
}

// hashTag is "{<tenant>:<integrationId>}": Redis Cluster hashes only what is
// inside the first braces, so all of an integration's keys share a slot and
// one script may read and write them together (a script's keys must live in
// one slot, or Cluster refuses it with CROSSSLOT). Tenant and integration
// ids are UUIDs, which have no braces.
func hashTag(tenantID, integrationID string) string {
	return "{" + tenantID + ":" + integrationID + "}"
}

// integration names the key's integration for invalidation.
func (k Key) integration() string { return k.TenantID + ":" + k.IntegrationID }

// FilterHash is a short stable hash of a filter: 16 hex digits of the
// SHA-256 of its JSON (fields in declaration order, empty ones omitted).
func FilterHash(f contracts.DiscoveryFilter) string {
	b, _ := json.Marshal(f) // a struct of strings always encodes
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// Entry is one cached discovery result. Callers share it: they must not
// modify Items. A result of FetchStream is stored in chunks of ChunkSize
// items (Total items in Chunks chunks) and read with Range and Each; Fetch
// also decodes them all into Items.
type Entry struct {
	Items        []contracts.Resource `json:"items,omitempty"`
	DiscoveredAt time.Time            `json:"discoveredAt"`
	ExpiresAt    time.Time            `json:"expiresAt"`
	Revision     uint64               `json:"revision"`
	Total        int                  `json:"total,omitempty"`
	Chunks       int                  `json:"chunks,omitempty"`
	// ChunkKey starts the Redis keys of the chunks ("<ChunkKey><i>").
	ChunkKey string `json:"chunkKey,omitempty"`
	// load reads encoded chunk i (Redis); decoded returns chunk i (the
	// in-process cache); both nil for an entry of Items.
	load    func(ctx context.Context, i int) ([]byte, error)
	decoded func(i int) []contracts.Resource
}

// Age is how old the entry is at now, never negative.
func (e Entry) Age(now time.Time) time.Duration { return max(now.Sub(e.DiscoveredAt), 0) }

// valid reports whether e answers key at now.
func (e Entry) valid(key Key, now time.Time) bool {
	return e.Revision == key.Revision && now.Before(e.ExpiresAt)
}

// Outcome says where an answer came from; it is the result label of
// inthub_discovery_cache_requests_total.
type Outcome string

// The outcomes of a Fetch.
const (
	// Hit: answered from the cache.
	Hit Outcome = "hit"
	// Miss: not cached (or expired, or of another revision); filled now.
	// Callers that waited for another caller's fill miss too.
	Miss Outcome = "miss"
	// Bypass: the caller asked for a refresh, or caching is off (TTL 0).
	Bypass Outcome = "bypass"
	// Error: the cache could not be used (Redis down); answered uncached.
	Error Outcome = "error"
)

// Outcomes lists every outcome, for pre-created metric series.
var Outcomes = []Outcome{Hit, Miss, Bypass, Error}

// FillFunc discovers the result of a key on a miss. It runs with a context
// that keeps the first caller's values but not its cancellation, since other
// callers wait for the same fill: it must bound its own time.
type FillFunc func(ctx context.Context) ([]contracts.Resource, error)

// Options tune one Fetch.
type Options struct {
	// TTL of a result filled now; 0 or less turns caching off for this call.
	TTL time.Duration
	// Refresh skips the cached entry, fills and stores a new one.
	Refresh bool
}

// Cache is the discovery cache.
type Cache interface {
	// Fetch returns the entry of key, calling fill on a miss. Concurrent
	// misses of one key call fill once (across replicas for Redis); a failed
	// fill is returned, not cached.
	Fetch(ctx context.Context, key Key, opts Options, fill FillFunc) (Entry, Outcome, error)
	// FetchStream is Fetch for results too large to hold: fill emits its
	// items as it reads them, they are stored a chunk at a time, and the
	// entry is read a page at a time (Range, Each); Items stays nil.
	FetchStream(ctx context.Context, key Key, opts Options, fill StreamFillFunc) (Entry, Outcome, error)
	// Invalidate empties every entry of one integration; a fill running
	// meanwhile does not store its (now stale) result.
	Invalidate(ctx context.Context, tenantID, integrationID string) error
	// Close releases connections.
	Close() error
}

// stamp dates a fresh result.
func stamp(e Entry, key Key, now time.Time, ttl time.Duration) Entry {
	e.DiscoveredAt, e.ExpiresAt, e.Revision = now, now.Add(ttl), key.Revision
	return e
}

// withItems decodes a streamed entry's items for Fetch.
func withItems(ctx context.Context, e Entry, err error) (Entry, error) {
	if err != nil {
		return e, err
	}
	items, err := e.all(ctx)
	if err != nil {
		return Entry{}, err
	}
	e.Items = items
	return e, nil
}

// Reader reads entries without filling them: the ingress answers a cache
// hit from a cache it shares with the discovery-worker (Redis, or the
// in-process cache of `make run`) and leaves a miss to the worker.
type Reader interface {
	// Lookup returns the valid entry of key, counting a hit; a miss is
	// (Entry{}, false, nil) and counts nothing, since the fill that
	// follows counts it. An error means the cache could not be read.
	Lookup(ctx context.Context, key Key) (Entry, bool, error)
}
