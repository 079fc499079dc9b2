package oci

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/discoveryfilter"
	"github.com/stella-ops/inthub/shared/resilience"
)

// detailConcurrency bounds the manifest and config reads of Details.
const detailConcurrency = 8

// Tag is one tag of a repository; Digest and Created are set by Details.
type Tag struct {
	Name    string
	Digest  string
	Created time.Time
}

// listBody is the body of /v2/_catalog and /v2/<name>/tags/list.
type listBody struct {
	Repositories []string `json:"repositories"`
	Tags         []string `json:"tags"`
}

// TagsPage reads one page of a repository's tags: n of them (0: the
// registry's default) from page, the query of a previous page's next link
// ("" for the first page). It returns the next page's query, "" after the
// last page. Only the query of a Link is followed, on this registry's host,
// so a registry cannot send the credentials elsewhere.
func (r *Registry) TagsPage(ctx context.Context, auth Auth, repo, page string, n int) ([]string, string, error) {
	return r.tagsPage(ctx, auth, repo, page, n, true)
}

// tagsPage is TagsPage; without fresh, a page the registry answered with
// more tags than asked in the last oversizeLifetime comes from that answer.
func (r *Registry) tagsPage(ctx context.Context, auth Auth, repo, page string, n int, fresh bool) ([]string, string, error) {
	ref, err := r.Repository(repo)
	if err != nil {
		return nil, "", err
	}
	scope := ref.Scope(transport.PullScope)
	key := r.auth.key(auth, []string{scope, page})
	if names, next, ok := r.oversize.get(key, r.now()); ok && !fresh {
		return names, next, nil
	}
	body, next, err := r.listPage(ctx, auth, listing{what: "list tags of " + repo, scope: scope,
		path: "/v2/" + ref.RepositoryStr() + "/tags/list", cursorOf: repo}, page, n)
	if err == nil && n > 0 && len(body.Tags) > n {
		r.oversize.put(key, body.Tags, next, r.now())
	}
	return body.Tags, next, err
}

// oversizeLifetime is how long an answer larger than asked is kept.
const oversizeLifetime = 30 * time.Second

// oversizeAnswer keeps the last tags/list answer that held more tags than
// asked for: a registry that ignores n (Debian's distribution 2.8) sends
// every tag at once, and the discovery's next pages (kit.Collect skips
// into the same answer) would each read all of it again — 20 reads of
// 20,000 tags for 20 pages of 1000. One answer per registry, for
// oversizeLifetime, keyed by scope, page and an HMAC of the credential.
type oversizeAnswer struct {
	mu    sync.Mutex
	key   string
	names []string
	next  string
	at    time.Time
}

func (o *oversizeAnswer) get(key string, now time.Time) ([]string, string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.key != key || now.Sub(o.at) >= oversizeLifetime || now.Before(o.at) {
		return nil, "", false
	}
	return o.names, o.next, true
}

func (o *oversizeAnswer) put(key string, names []string, next string, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.key, o.names, o.next, o.at = key, names, next, now
}

// CatalogPage reads one page of the registry's repositories
// (/v2/_catalog), paged as TagsPage pages tags. Many registries keep the
// catalog for admins: a valid credential without its scope is
// PERMISSION_DENIED.
func (r *Registry) CatalogPage(ctx context.Context, auth Auth, page string, n int) ([]string, string, error) {
	body, next, err := r.listPage(ctx, auth, listing{what: "list repositories", scope: "registry:catalog:*",
		path: "/v2/_catalog", cursorOf: "the registry"}, page, n)
	return body.Repositories, next, err
}

// listing is one paginated list endpoint of v2.
type listing struct {
	what, scope, path string
	cursorOf          string // what the cursor pages, for its error
}

// listPage reads one page of l.
func (r *Registry) listPage(ctx context.Context, auth Auth, l listing, page string, n int) (listBody, string, error) {
	query, err := url.ParseQuery(page)
	if err != nil {
		return listBody{}, "", resilience.New(resilience.InvalidConfig, "the cursor is not a page of %s", l.cursorOf)
	}
	if n > 0 {
		query.Set("n", strconv.Itoa(n))
	}
	t, err := r.transport(ctx, auth, false, l.scope)
	if err != nil {
		return listBody{}, "", err
	}
	var body listBody
	var next url.Values
	err = r.get(ctx, t, auth, l.what, l.path, query, func(resp *http.Response) error {
		if err := kit.DecodeJSON(resp.Body, 0, &body); err != nil {
			return err
		}
		next, err = kit.NextQuery(resp.Header)
		return err
	})
	if err != nil || next == nil {
		return body, "", err
	}
	return body, NextPage(next), nil
}

// NextPage renders a next-page query as a cursor's page: without n (each
// request sets its own page size), and never empty, since a registry may
// paginate by n alone.
func NextPage(next url.Values) string {
	next.Del("n")
	if s := next.Encode(); s != "" {
		return s
	}
	return "n="
}

// get sends GET path?query through t and hands a 200 answer to read.
func (r *Registry) get(ctx context.Context, t http.RoundTripper, auth Auth, what, path string, query url.Values, read func(*http.Response) error) error {
	u := url.URL{Scheme: r.reg.Scheme(), Host: r.reg.RegistryStr(), Path: path, RawQuery: query.Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return resilience.Wrap(resilience.InvalidConfig, err, "%s", what)
	}
	resp, err := t.RoundTrip(req)
	if err != nil {
		return Classify(what, err)
	}
	defer kit.Drain(resp)
	if err := insufficientScope(resp, auth, what); err != nil {
		return err
	}
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return Classify(what, err)
	}
	if read == nil {
		return nil
	}
	if err := read(resp); err != nil {
		return resilience.WrapDefault(resilience.UpstreamError, err, "%s", what)
	}
	return nil
}

// Details sets each tag's manifest digest (HEAD of the manifest) and, with
// created, its image's creation time (the config's "created"; a
// multi-platform index answers for linux/amd64), a few tags at a time on
// one token. A tag deleted since the listing keeps neither; any other
// failure fails the call.
func (r *Registry) Details(ctx context.Context, auth Auth, repo string, tags []Tag, created bool) error {
	ref, err := r.Repository(repo)
	if err != nil {
		return err
	}
	t, err := r.transport(ctx, auth, false, ref.Scope(transport.PullScope))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	opts := []remote.Option{remote.WithTransport(t), remote.WithContext(ctx)}
	sem := make(chan struct{}, detailConcurrency)
	var wg sync.WaitGroup
	for i := range tags {
		tag, err := name.NewTag(ref.Name()+":"+tags[i].Name, name.WithDefaultRegistry(r.reg.RegistryStr()))
		if err != nil {
			continue // not a tag a URL can name; leave it without details
		}
		tag.Repository = ref
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(out *Tag) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := r.detail(tag, out, created, opts); err != nil {
				cancel(err)
			}
		}(&tags[i])
	}
	wg.Wait()
	err = context.Cause(ctx)
	var coded *resilience.Error
	if err != nil && !errors.As(err, &coded) {
		return resilience.Wrap(resilience.Timeout, err, "read the tags of %s", repo)
	}
	return err
}

// detail reads one tag's digest and creation time.
func (r *Registry) detail(tag name.Tag, out *Tag, created bool, opts []remote.Option) error {
	what := "read " + tag.RepositoryStr() + ":" + tag.TagStr()
	desc, err := remote.Head(tag, opts...)
	if gone(err) {
		return nil
	}
	if err != nil {
		return Classify(what, err)
	}
	out.Digest = desc.Digest.String()
	if !created {
		return nil
	}
	img, err := remote.Image(tag, opts...)
	if err == nil {
		cfg, cerr := img.ConfigFile()
		if cerr == nil {
			out.Created = cfg.Created.UTC()
			return nil
		}
		err = cerr
	}
	if gone(err) {
		return nil
	}
	return Classify(what, err)
}

// gone reports a 404: the tag was deleted since the listing.
func gone(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

// TagResource renders a tag as a discovered resource: its id is the
// reference repo:tag; digest and created (a time.Time, which the
// discovery filter orders by) when known.
func TagResource(resourceType, repo string, t Tag) contracts.Resource {
	attrs := map[string]any{"repository": repo}
	if t.Digest != "" {
		attrs["digest"] = t.Digest
	}
	if !t.Created.IsZero() {
		attrs[discoveryfilter.CreatedAttribute] = t.Created
	}
	return contracts.Resource{Type: resourceType, Name: t.Name, ID: repo + ":" + t.Name, Attributes: attrs}
}

// TagQuery is one page of tags discovery: the repository, the name filter,
// how the page is filled and where it starts, and which details to add.
type TagQuery struct {
	ResourceType string // the provider's resource type of tags
	Repository   string
	Keep         func(name string) bool // nil keeps every tag
	Collector    kit.Collector
	Start        kit.Position
	// Digests adds each tag's manifest digest; Created adds its image's
	// creation time as well (and so the digest).
	Digests, Created bool
}

// DiscoverTags is the tags discovery of every registry provider: tag names
// one v2 page after another until the page is full (kit.Collect), then
// their details when asked, each rendered by TagResource. It returns the
// position of the rest, nil at the end.
func (r *Registry) DiscoverTags(ctx context.Context, auth Auth, q TagQuery) ([]contracts.Resource, *kit.Position, error) {
	names, next, err := kit.Collect(ctx, q.Collector, q.Start, q.Keep,
		func(ctx context.Context, page string, want int) ([]string, string, error) {
			// A discovery's first page reads the registry; a later one
			// (Skip > 0: cut from an answer larger than its page) may reuse
			// that answer, so a refresh always sees the tags of now.
			return r.tagsPage(ctx, auth, q.Repository, page, want, q.Start.Skip == 0)
		})
	if err != nil {
		return nil, nil, err
	}
	tags := make([]Tag, len(names))
	for i, n := range names {
		tags[i].Name = n
	}
	if q.Digests || q.Created {
		if err := r.Details(ctx, auth, q.Repository, tags, q.Created); err != nil {
			return nil, nil, err
		}
	}
	items := make([]contracts.Resource, len(tags))
	for i, t := range tags {
		items[i] = TagResource(q.ResourceType, q.Repository, t)
	}
	return items, next, nil
}
