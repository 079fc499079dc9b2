package cache

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stella-ops/inthub/shared/contracts"
)

// RedisOptions configures NewRedis. Zero durations take the defaults.
type RedisOptions struct {
	// URL is redis://[user:password@]host:port[/db] (rediss:// for TLS): a
	// single Redis. Exactly one of URL, Servers.Sentinel* and
	// Servers.ClusterAddrs names the servers.
	URL string
	// Servers names a Sentinel-managed primary or a Redis Cluster instead.
	Servers RedisServers
	// Clock is the time source of TTLs, ages and the outage probe (time.Now
	// if nil). Redis also expires entries on its own clock (PX = TTL).
	Clock   func() time.Time
	Metrics *Metrics
	Logger  *slog.Logger
	// LockTTL is how long a fill's lock lives without renewal (10s): the
	// holder renews it every LockTTL/3 while it fills, so only a crashed
	// holder's lock runs out, and waiters then take over.
	LockTTL time.Duration
	// MaxWait bounds how long a caller waits for another replica's fill
	// (60s) before it fills itself.
	MaxWait time.Duration
	// PollInterval is the first wait between looks at another replica's
	// fill (2ms); it grows by half each time, up to 50ms.
	PollInterval time.Duration
	// OpTimeout bounds each Redis command (500ms), so an unreachable Redis
	// costs a discovery call no more than that before it answers uncached.
	OpTimeout time.Duration
	// RetryAfter is how long a Redis found unreachable is left alone before
	// the next call tries it again (1s).
	RetryAfter time.Duration
}

func (o *RedisOptions) defaults() {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.LockTTL <= 0 {
		o.LockTTL = 10 * time.Second
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 60 * time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Millisecond
	}
	if o.OpTimeout <= 0 {
		o.OpTimeout = 500 * time.Millisecond
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = time.Second
	}
}

const maxPollInterval = 50 * time.Millisecond

// Redis is the discovery cache in Redis, shared by every discovery-worker
// replica. Besides the entries it keeps, per integration, a generation
// counter and an index of its entry keys, so Invalidate is one atomic script
// that bumps the generation and deletes the indexed keys; a fill stores its
// result only if the generation it read when it took the lock is unchanged.
//
// Keys (the entry key is the one docs/architecture.md lists; the others live
// beside it):
//
//	inthub:discovery:{<tenant>:<id>}:<type>:<filterHash>  entry, PX = TTL
//	inthub:discovery-chunk:{<tenant>:<id>}:<type>:<filterHash>:<fill>:<i>  a chunk of its items
//	inthub:discovery-lock:{<tenant>:<id>}:<type>:<filterHash>  fill lock (token, PX = LockTTL)
//	inthub:discovery-gen:{<tenant>:<id>}    generation (INCR on invalidation)
//	inthub:discovery-index:{<tenant>:<id>}  set of the integration's entry and chunk keys
//
// The scripts touch several keys of one integration (and the store and
// invalidate scripts keys they do not declare: the chunks, the indexed
// keys); the {<tenant>:<id>} hash tag puts them all in one Redis Cluster
// slot, so they run on Cluster as on a single Redis or Sentinel. No command
// spans two integrations: the cache never uses KEYS, SCAN or a multi-key
// command across integrations.
type Redis struct {
	opts   RedisOptions
	client redis.UniversalClient
	flight flight

	mu        sync.Mutex
	down      bool
	nextProbe time.Time

	memoMu sync.Mutex
	memo   map[string]decoded
}

var _ Cache = (*Redis)(nil)

// RedisServers names the Redis servers when they are not one URL: a primary
// with replicas under Redis Sentinel, or a Redis Cluster. The operator sets
// them with REDIS_SENTINEL_MASTER, REDIS_SENTINEL_ADDRS,
// REDIS_SENTINEL_PASSWORD, REDIS_CLUSTER_ADDRS, REDIS_USERNAME and
// REDIS_PASSWORD (docs/configuration.md).
type RedisServers struct {
	// SentinelMaster is the name the sentinels monitor the primary under;
	// with SentinelAddrs (host:port of each sentinel) it selects Sentinel.
	SentinelMaster string
	SentinelAddrs  []string
	// SentinelPassword is the sentinels' own password (requirepass of the
	// sentinel configuration), if any.
	SentinelPassword string
	// ClusterAddrs are host:port of some of the cluster's nodes (the client
	// learns the others); it selects Redis Cluster.
	ClusterAddrs []string
	// Username and Password authenticate to the data nodes (the primary and
	// replicas, or the cluster nodes).
	Username string
	Password string
}

// Set reports whether Sentinel or Cluster is configured.
func (s RedisServers) Set() bool {
	return s.SentinelMaster != "" || len(s.SentinelAddrs) > 0 || len(s.ClusterAddrs) > 0
}

// NewRedis returns a cache on the Redis at opts.URL, or the Sentinel or
// Cluster of opts.Servers, through go-redis's universal client. It does not
// need Redis to be up: until it is, discovery answers uncached.
func NewRedis(opts RedisOptions) (*Redis, error) {
	opts.defaults()
	client, err := newClient(opts)
	if err != nil {
		return nil, err
	}
	quietOnce.Do(func() { redis.SetLogger(debugLogger{opts.Logger}) })
	return &Redis{opts: opts, client: client, memo: map[string]decoded{}}, nil
}

// newClient builds the go-redis client of opts: a plain client from the
// URL (as before Sentinel and Cluster were supported: ParseURL keeps the
// URL's database, TLS and query options), else the universal client, which
// is a failover client with a master name and a cluster client otherwise.
func newClient(opts RedisOptions) (redis.UniversalClient, error) {
	s := opts.Servers
	modes := 0
	for _, set := range []bool{opts.URL != "", s.SentinelMaster != "" || len(s.SentinelAddrs) > 0, len(s.ClusterAddrs) > 0} {
		if set {
			modes++
		}
	}
	switch {
	case modes != 1:
		return nil, errors.New("redis: set exactly one of REDIS_URL, REDIS_SENTINEL_MASTER with REDIS_SENTINEL_ADDRS, or REDIS_CLUSTER_ADDRS")
	case opts.URL != "":
		ro, err := redis.ParseURL(opts.URL)
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout = opts.OpTimeout, opts.OpTimeout, opts.OpTimeout
		ro.PoolTimeout = opts.OpTimeout
		ro.MaxRetries = -1 // no retries: a failure answers uncached at once
		ro.DialerRetries = 1
		ro.DisableIdentity = true
		return redis.NewClient(ro), nil
	case s.SentinelMaster == "" && len(s.SentinelAddrs) > 0, s.SentinelMaster != "" && len(s.SentinelAddrs) == 0:
		return nil, errors.New("redis: Sentinel needs both REDIS_SENTINEL_MASTER and REDIS_SENTINEL_ADDRS")
	}
	uo := &redis.UniversalOptions{
		MasterName:       s.SentinelMaster,
		SentinelPassword: s.SentinelPassword,
		Username:         s.Username,
		Password:         s.Password,
		// A single cluster address is still a cluster (the universal
		// client would otherwise take one address for a plain Redis).
		IsClusterMode: len(s.ClusterAddrs) > 0,
		DialTimeout:   opts.OpTimeout, ReadTimeout: opts.OpTimeout, WriteTimeout: opts.OpTimeout,
		PoolTimeout: opts.OpTimeout,
		// No retries, as for the URL: a failure answers uncached at once,
		// and the next call after RetryAfter finds the new primary (the
		// failover client follows the sentinels' +switch-master; the
		// cluster client follows MOVED, which is a redirect, not a retry).
		MaxRetries:      -1,
		DialerRetries:   1,
		DisableIdentity: true,
	}
	if uo.MasterName != "" {
		uo.Addrs = s.SentinelAddrs
	} else {
		uo.Addrs = s.ClusterAddrs
	}
	return redis.NewUniversalClient(uo), nil
}

// quietOnce routes go-redis's own log lines (a global of go-redis) to the
// first cache's logger at debug: the cache logs an outage once itself.
var quietOnce sync.Once

type debugLogger struct{ logger *slog.Logger }

func (l debugLogger) Printf(ctx context.Context, format string, v ...any) {
	l.logger.DebugContext(ctx, "go-redis: "+fmt.Sprintf(format, v...))
}

// Client is the underlying go-redis client (tests inspect keys through it):
// a *redis.Client for a URL or Sentinel, a *redis.ClusterClient for Cluster.
func (r *Redis) Client() redis.UniversalClient { return r.client }

// Close implements Cache.
func (r *Redis) Close() error { return r.client.Close() }

func lockKey(key Key) string {
	return "inthub:discovery-lock:" + hashTag(key.TenantID, key.IntegrationID) + ":" + key.ResourceType + ":" + FilterHash(key.Filter)
}

func genKey(tenantID, integrationID string) string {
	return "inthub:discovery-gen:" + hashTag(tenantID, integrationID)
}

func indexKey(tenantID, integrationID string) string {
	return "inthub:discovery-index:" + hashTag(tenantID, integrationID)
}

// Fetch implements Cache.
func (r *Redis) Fetch(ctx context.Context, key Key, opts Options, fill FillFunc) (Entry, Outcome, error) {
	e, o, err := r.FetchStream(ctx, key, opts, streamOf(fill))
	e, err = withItems(ctx, e, err)
	return e, o, err
}

// FetchStream implements Cache: a fill holding the lock writes each chunk
// to Redis as it fills (redisSink), so a replica never holds a whole
// result; the entry key, written last, names the chunks.
func (r *Redis) FetchStream(ctx context.Context, key Key, opts Options, fill StreamFillFunc) (Entry, Outcome, error) {
	e, o, err := r.fetch(ctx, key, opts, fill)
	r.opts.Metrics.observe(o)
	return e, o, err
}

func (r *Redis) fetch(ctx context.Context, key Key, opts Options, fill StreamFillFunc) (Entry, Outcome, error) {
	ks := key.String()
	fk := flightKey(ks, key, opts)
	if opts.TTL <= 0 {
		e, err := r.uncached(ctx, fk, key, fill, Bypass)
		return e, Bypass, err
	}
	if !r.available() {
		e, err := r.uncached(ctx, fk, key, fill, Error)
		return e, Error, err
	}
	if !opts.Refresh {
		e, ok, err := r.get(ctx, ks, key)
		if err != nil {
			if ctx.Err() != nil {
				return Entry{}, Miss, ctx.Err()
			}
			r.markDown(err)
			e, err := r.uncached(ctx, fk, key, fill, Error)
			return e, Error, err
		}
		if ok {
			return e, Hit, nil
		}
	}
	res, err := r.flight.do(ctx, fk, func(ctx context.Context) (result, error) {
		if opts.Refresh {
			return r.refresh(ctx, ks, key, opts.TTL, fill)
		}
		return r.fillOnce(ctx, ks, key, opts.TTL, fill)
	})
	if err != nil {
		return Entry{}, failedOutcome(res, opts), err
	}
	return res.entry, res.outcome, nil
}

// uncached fills without Redis, still once per key in this process.
func (r *Redis) uncached(ctx context.Context, fk string, key Key, fill StreamFillFunc, outcome Outcome) (Entry, error) {
	res, err := r.flight.do(ctx, fk+"|"+string(outcome), func(ctx context.Context) (result, error) {
		e, err := produce(ctx, fill, &memorySink{})
		return result{entry: stamp(e, key, r.opts.Clock(), 0), outcome: outcome}, err
	})
	return res.entry, err
}

// fillOnce is the single flight across replicas: whoever takes the key's
// lock fills and stores; the others wait for the entry, or take over when
// the lock goes away without one (the holder failed or crashed).
func (r *Redis) fillOnce(ctx context.Context, ks string, key Key, ttl time.Duration, fill StreamFillFunc) (result, error) {
	waitCtx, cancel := context.WithTimeout(ctx, r.opts.MaxWait)
	defer cancel()
	for {
		token := newToken()
		c, err := r.claim(ctx, ks, key, token)
		if err != nil {
			return r.fallback(ctx, key, fill, err)
		}
		switch {
		case c.found:
			return result{entry: c.entry, outcome: Hit}, nil
		case c.corrupt:
			// An entry this version cannot read: drop it and claim again.
			_ = r.call(ctx, func(ctx context.Context) error { return r.client.Del(ctx, ks).Err() })
			continue
		}
		if c.locked {
			return r.fillLocked(ctx, ks, key, ttl, token, c.gen, fill)
		}
		e, found, err := r.wait(waitCtx, ks, key)
		switch {
		case found:
			return result{entry: e, outcome: Miss}, nil
		case waitCtx.Err() != nil:
			// The other fill takes too long: answer from our own.
			e, err := produce(ctx, fill, &memorySink{})
			return result{entry: stamp(e, key, r.opts.Clock(), 0), outcome: Miss}, err
		case err != nil:
			return r.fallback(ctx, key, fill, err)
		}
		// The lock went away without an entry: try to take it.
	}
}

// fallback marks Redis down and fills uncached.
func (r *Redis) fallback(ctx context.Context, key Key, fill StreamFillFunc, err error) (result, error) {
	r.markDown(err)
	e, ferr := produce(ctx, fill, &memorySink{})
	return result{entry: stamp(e, key, r.opts.Clock(), 0), outcome: Error}, ferr
}

// fillLocked runs fill while holding the lock (renewing it) and stores the
// result if no invalidation happened since gen was read.
func (r *Redis) fillLocked(ctx context.Context, ks string, key Key, ttl time.Duration, token, gen string, fill StreamFillFunc) (result, error) {
	stop := r.renew(lockKey(key), token)
	sink := r.newSink(ks, key, ttl)
	e, err := produce(ctx, fill, sink)
	stop()
	if err != nil {
		sink.discard(ctx)
		r.release(ctx, key, token)
		if sink.failed != nil {
			return r.fallback(ctx, key, fill, sink.failed)
		}
		return result{}, err
	}
	e = stamp(e, key, r.opts.Clock(), ttl)
	if err := r.store(ctx, ks, key, gen, token, e, ttl); err != nil {
		r.markDown(err)
		return result{entry: e, outcome: Error}, nil
	}
	return result{entry: e, outcome: Miss}, nil
}

// refresh fills without looking at the entry and stores the result.
func (r *Redis) refresh(ctx context.Context, ks string, key Key, ttl time.Duration, fill StreamFillFunc) (result, error) {
	gen, err := r.generation(ctx, key)
	if err != nil {
		return r.fallback(ctx, key, fill, err)
	}
	sink := r.newSink(ks, key, ttl)
	e, err := produce(ctx, fill, sink)
	if err != nil {
		sink.discard(ctx)
		if sink.failed != nil {
			return r.fallback(ctx, key, fill, sink.failed)
		}
		return result{}, err
	}
	e = stamp(e, key, r.opts.Clock(), ttl)
	if err := r.store(ctx, ks, key, gen, "", e, ttl); err != nil {
		r.markDown(err)
		return result{entry: e, outcome: Error}, nil
	}
	return result{entry: e, outcome: Bypass}, nil
}

// available reports whether Redis should be tried: always, except within
// RetryAfter of finding it unreachable.
func (r *Redis) available() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.down || !r.opts.Clock().Before(r.nextProbe)
}

// markDown records a failed Redis call: the metric and one log line when the
// cache becomes unavailable.
func (r *Redis) markDown(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nextProbe = r.opts.Clock().Add(r.opts.RetryAfter)
	if r.down {
		return
	}
	r.down = true
	r.opts.Metrics.setUnavailable(true)
	r.opts.Logger.Warn("discovery cache unavailable: answering uncached until Redis is back", "error", err.Error())
}

// markUp records a successful Redis call.
func (r *Redis) markUp() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.down {
		return
	}
	r.down = false
	r.opts.Metrics.setUnavailable(false)
	r.opts.Logger.Info("discovery cache available again")
}

// call runs one Redis command with OpTimeout and keeps the availability
// state; redis.Nil is a successful "no value".
func (r *Redis) call(ctx context.Context, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.OpTimeout)
	defer cancel()
	err := fn(ctx)
	if err == nil || errors.Is(err, redis.Nil) {
		r.markUp()
		return nil
	}
	return err
}

// Entries are stored as "<revision>:<expiresAtUnixMs>:<discoveredAtUnixNs>:<JSON entry>",
// so the scripts judge an entry without decoding it, and a replica reuses
// what it decoded last time while the header is the same.
func encodeEntry(e Entry) ([]byte, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode discovery cache entry: %w", err)
	}
	head := strconv.FormatUint(e.Revision, 10) + ":" + strconv.FormatInt(e.ExpiresAt.UnixMilli(), 10) + ":" +
		strconv.FormatInt(e.DiscoveredAt.UnixNano(), 10) + ":"
	return append([]byte(head), body...), nil
}

// splitEntry cuts raw into its header (three fields) and its JSON.
func splitEntry(raw []byte) (head string, body []byte, err error) {
	end := 0
	for range 3 {
		i := bytes.IndexByte(raw[end:], ':')
		if i < 0 {
			return "", nil, errors.New("discovery cache entry without header")
		}
		end += i + 1
	}
	return string(raw[:end]), raw[end:], nil
}

func decodeEntry(raw []byte) (Entry, error) {
	var e Entry
	_, body, err := splitEntry(raw)
	if err != nil {
		return e, err
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return e, fmt.Errorf("decode discovery cache entry: %w", err)
	}
	return e, nil
}

// memoEntries and memoItems bound what Redis keeps decoded: hits of a
// popular key skip decoding its JSON (about 1µs per resource).
const (
	memoEntries = 256
	memoItems   = 10000
)

// decoded is one memoised entry and the header and size it was decoded
// from.
type decoded struct {
	head  string
	size  int
	entry Entry
}

// decode returns the entry of raw stored under ks, from the memo when its
// header has not changed.
func (r *Redis) decode(ks string, raw []byte) (Entry, error) {
	head, body, err := splitEntry(raw)
	if err != nil {
		return Entry{}, err
	}
	r.memoMu.Lock()
	d, ok := r.memo[ks]
	r.memoMu.Unlock()
	if ok && d.head == head && d.size == len(body) {
		return d.entry, nil
	}
	var e Entry
	if err := json.Unmarshal(body, &e); err != nil {
		return e, fmt.Errorf("decode discovery cache entry: %w", err)
	}
	if e.ChunkKey != "" {
		e.load = r.chunkLoader(e.ChunkKey)
	}
	if len(e.Items) <= memoItems {
		r.memoMu.Lock()
		if len(r.memo) >= memoEntries {
			for k := range r.memo { // map order: an arbitrary victim
				delete(r.memo, k)
				break
			}
		}
		r.memo[ks] = decoded{head: head, size: len(body), entry: e}
		r.memoMu.Unlock()
	}
	return e, nil
}

// get reads a valid entry.
func (r *Redis) get(ctx context.Context, ks string, key Key) (Entry, bool, error) {
	var raw []byte
	err := r.call(ctx, func(ctx context.Context) error {
		var err error
		raw, err = r.client.Get(ctx, ks).Bytes()
		return err
	})
	if err != nil || raw == nil {
		return Entry{}, false, err
	}
	return r.validEntry(ks, raw, key)
}

// validEntry decodes raw; an entry that does not decode (a format from
// another version) is a miss, overwritten by the fill.
func (r *Redis) validEntry(ks string, raw []byte, key Key) (Entry, bool, error) {
	e, err := r.decode(ks, raw)
	if err != nil || !e.valid(key, r.opts.Clock()) {
		return Entry{}, false, nil
	}
	return e, true, nil
}

// corrupt reports whether raw cannot be decoded at all.
func corrupt(raw []byte) bool {
	_, err := decodeEntry(raw)
	return err != nil
}

// entryValid is the Lua test of an entry header against ARGV revision and
// now (ms): the revision must match and the entry must not have expired.
const entryValid = `
local function valid(v, rev, now)
  if not v then return false end
  local r, exp = string.match(v, '^(%d+):(%d+):')
  return r == rev and tonumber(exp) > tonumber(now)
end
`

// claimScript returns a valid entry, or takes the lock if it is free; with
// the lock it returns the integration's generation.
// KEYS: entry, lock, gen. ARGV: token, lockTTL ms, revision, now ms.
var claimScript = redis.NewScript(entryValid + `
local v = redis.call('GET', KEYS[1])
if valid(v, ARGV[3], ARGV[4]) then return {v, 0, ''} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {false, 1, redis.call('GET', KEYS[3]) or '0'}
end
return {false, 0, ''}
`)

// peekScript returns a valid entry, or whether the lock is still held.
// KEYS: entry, lock. ARGV: revision, now ms.
var peekScript = redis.NewScript(entryValid + `
local v = redis.call('GET', KEYS[1])
if valid(v, ARGV[1], ARGV[2]) then return {v, 1} end
return {false, redis.call('EXISTS', KEYS[2])}
`)

// storeScript stores the entry and indexes it if the generation is still
// the one read with the lock, then releases the lock if we hold it.
// The entry's chunks get the entry's TTL, so they live exactly as long.
// KEYS: entry, gen, index, lock. ARGV: value, ttl ms, generation, token,
// index ttl ms, chunk key prefix, chunk count.
var storeScript = redis.NewScript(`
local stored = 0
if (redis.call('GET', KEYS[2]) or '0') == ARGV[3] then
  for i = 0, tonumber(ARGV[7]) - 1 do
    redis.call('PEXPIRE', ARGV[6] .. i, ARGV[2])
  end
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('SADD', KEYS[3], KEYS[1])
  if redis.call('PTTL', KEYS[3]) < tonumber(ARGV[5]) then redis.call('PEXPIRE', KEYS[3], ARGV[5]) end
  stored = 1
end
if ARGV[4] ~= '' and redis.call('GET', KEYS[4]) == ARGV[4] then redis.call('DEL', KEYS[4]) end
return stored
`)

// releaseScript deletes the lock if we still hold it. KEYS: lock. ARGV: token.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// renewScript extends the lock if we still hold it. KEYS: lock. ARGV: token, ttl ms.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`)

// invalidateScript bumps the generation and deletes the indexed entries.
// KEYS: gen, index. ARGV: generation ttl ms.
var invalidateScript = redis.NewScript(`
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
local keys = redis.call('SMEMBERS', KEYS[2])
for i = 1, #keys, 500 do
  redis.call('DEL', unpack(keys, i, math.min(i + 499, #keys)))
end
redis.call('DEL', KEYS[2])
return #keys
`)

// claimed is the answer of claimScript.
type claimed struct {
	found   bool
	entry   Entry
	corrupt bool
	locked  bool
	gen     string
}

func (r *Redis) claim(ctx context.Context, ks string, key Key, token string) (claimed, error) {
	var out []any
	err := r.call(ctx, func(ctx context.Context) error {
		v, err := claimScript.Run(ctx, r.client, []string{ks, lockKey(key), genKey(key.TenantID, key.IntegrationID)},
			token, r.opts.LockTTL.Milliseconds(), key.Revision, r.opts.Clock().UnixMilli()).Slice()
		out = v
		return err
	})
	if err != nil {
		return claimed{}, err
	}
	if len(out) != 3 {
		return claimed{}, fmt.Errorf("discovery cache claim: unexpected answer %v", out)
	}
	if raw, ok := out[0].(string); ok {
		if e, ok, _ := r.validEntry(ks, []byte(raw), key); ok {
			return claimed{found: true, entry: e}, nil
		}
		return claimed{corrupt: corrupt([]byte(raw))}, nil
	}
	locked, _ := out[1].(int64)
	gen, _ := out[2].(string)
	return claimed{locked: locked == 1, gen: gen}, nil
}

// wait polls for another replica's fill: it returns the entry once stored,
// or found=false once the lock is gone without one.
func (r *Redis) wait(ctx context.Context, ks string, key Key) (Entry, bool, error) {
	interval := r.opts.PollInterval
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return Entry{}, false, ctx.Err()
		case <-timer.C:
		}
		var out []any
		err := r.call(ctx, func(ctx context.Context) error {
			v, err := peekScript.Run(ctx, r.client, []string{ks, lockKey(key)}, key.Revision, r.opts.Clock().UnixMilli()).Slice()
			out = v
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return Entry{}, false, ctx.Err()
			}
			return Entry{}, false, err
		}
		if len(out) == 2 {
			if raw, ok := out[0].(string); ok {
				if e, ok, _ := r.validEntry(ks, []byte(raw), key); ok {
					return e, true, nil
				}
			}
			if held, _ := out[1].(int64); held == 0 {
				return Entry{}, false, nil
			}
		}
		interval = min(interval*3/2, maxPollInterval)
		timer.Reset(interval)
	}
}

func (r *Redis) generation(ctx context.Context, key Key) (string, error) {
	gen := "0"
	err := r.call(ctx, func(ctx context.Context) error {
		g, err := r.client.Get(ctx, genKey(key.TenantID, key.IntegrationID)).Result()
		if err == nil {
			gen = g
		}
		return err
	})
	return gen, err
}

func (r *Redis) store(ctx context.Context, ks string, key Key, gen, token string, e Entry, ttl time.Duration) error {
	value, err := encodeEntry(e)
	if err != nil {
		return err
	}
	return r.call(ctx, func(ctx context.Context) error {
		return storeScript.Run(ctx, r.client,
			[]string{ks, genKey(key.TenantID, key.IntegrationID), indexKey(key.TenantID, key.IntegrationID), lockKey(key)},
			value, ttl.Milliseconds(), gen, token, ttl.Milliseconds(), e.ChunkKey, e.Chunks).Err()
	})
}

func (r *Redis) release(ctx context.Context, key Key, token string) {
	err := r.call(ctx, func(ctx context.Context) error {
		return releaseScript.Run(ctx, r.client, []string{lockKey(key)}, token).Err()
	})
	if err != nil {
		r.markDown(err) // the lock then expires on its own
	}
}

// renew extends the lock every LockTTL/3 until the returned stop is called.
func (r *Redis) renew(lock, token string) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(r.opts.LockTTL / 3)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				_ = r.call(context.Background(), func(ctx context.Context) error {
					return renewScript.Run(ctx, r.client, []string{lock}, token, r.opts.LockTTL.Milliseconds()).Err()
				})
			}
		}
	}()
	return func() { close(done); <-finished }
}

// Invalidate implements Cache.
func (r *Redis) Invalidate(ctx context.Context, tenantID, integrationID string) error {
	err := r.call(ctx, func(ctx context.Context) error {
		return invalidateScript.Run(ctx, r.client, []string{genKey(tenantID, integrationID), indexKey(tenantID, integrationID)},
			(2 * MaxTTL).Milliseconds()).Err()
	})
	if err != nil {
		r.markDown(err)
		return fmt.Errorf("invalidate the discovery cache of %s: %w", integrationID, err)
	}
	return nil
}

// newToken is a lock owner's random token.
func newToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// chunkScript stores one chunk of a fill and indexes it, so invalidation
// deletes it with the entries. KEYS: chunk, index. ARGV: value, ttl ms.
var chunkScript = redis.NewScript(`
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], KEYS[1])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return 1
`)

// chunkGrace is how much longer than the entry's TTL a chunk written during
// a fill lives until the entry is stored (which sets the entry's TTL on
// every chunk): a fill that dies leaves nothing behind for longer.
const chunkGrace = time.Hour

// redisSink writes a fill's chunks to Redis as they fill:
// inthub:discovery-chunk:<entry key tail>:<fill token>:<i>, a key per fill
// so a refresh never overwrites the chunks a caller is paging through.
type redisSink struct {
	r      *Redis
	prefix string
	index  string
	ttl    time.Duration
	n      int
	// failed is the Redis error that stopped the fill, if any: the caller
	// then fills again uncached.
	failed error
}

func (r *Redis) newSink(ks string, key Key, ttl time.Duration) *redisSink {
	return &redisSink{r: r, prefix: "inthub:discovery-chunk:" + strings.TrimPrefix(ks, KeyPrefix) + ":" + newToken() + ":",
		index: indexKey(key.TenantID, key.IntegrationID), ttl: ttl}
}

func (s *redisSink) put(ctx context.Context, i int, items []contracts.Resource) error {
	chunk, err := json.Marshal(items)
	if err != nil {
		return fmt.Errorf("encode a discovery result chunk: %w", err)
	}
	err = s.r.call(ctx, func(ctx context.Context) error {
		return chunkScript.Run(ctx, s.r.client, []string{s.prefix + strconv.Itoa(i), s.index}, chunk, (s.ttl + chunkGrace).Milliseconds()).Err()
	})
	if err != nil {
		s.failed = err
		return fmt.Errorf("store a discovery result chunk: %w", err)
	}
	s.n = i + 1
	return nil
}

func (s *redisSink) finish(e *Entry) {
	e.Chunks, e.ChunkKey = s.n, s.prefix
	e.load = s.r.chunkLoader(s.prefix)
}

// discard deletes the chunks of a fill that failed (best effort: they
// expire anyway).
func (s *redisSink) discard(ctx context.Context) {
	if s.n == 0 || s.failed != nil {
		return
	}
	keys := make([]string, s.n)
	for i := range keys {
		keys[i] = s.prefix + strconv.Itoa(i)
	}
	// One DEL of many keys: on Cluster they share the integration's hash
	// tag (the prefix), hence one slot, so it is no CROSSSLOT error.
	_ = s.r.call(ctx, func(ctx context.Context) error { return s.r.client.Del(ctx, keys...).Err() })
}

// chunkLoader reads the chunks under prefix; a chunk gone (expired,
// invalidated) is ErrGone.
func (r *Redis) chunkLoader(prefix string) func(ctx context.Context, i int) ([]byte, error) {
	return func(ctx context.Context, i int) ([]byte, error) {
		var raw []byte
		err := r.call(ctx, func(ctx context.Context) error {
			var err error
			raw, err = r.client.Get(ctx, prefix+strconv.Itoa(i)).Bytes()
			return err
		})
		switch {
		case err != nil:
			return nil, fmt.Errorf("read a discovery result chunk: %w", err)
		case raw == nil:
			return nil, ErrGone
		}
		return raw, nil
	}
}

var _ Reader = (*Redis)(nil)

// Lookup implements Reader: one GET (and no decoding while the entry's
// header is the one decoded last). While Redis is found unreachable it
// answers a miss without trying, as Fetch does, so a caller pays for an
// outage at most once per RetryAfter.
func (r *Redis) Lookup(ctx context.Context, key Key) (Entry, bool, error) {
	if !r.available() {
		return Entry{}, false, nil
	}
	ks := key.String()
	e, ok, err := r.get(ctx, ks, key)
	if err != nil {
		if ctx.Err() == nil {
			r.markDown(err)
		}
		return Entry{}, false, err
	}
	if ok {
		r.opts.Metrics.observe(Hit)
	}
	return e, ok, nil
}
