package dockerregistry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// digestConcurrency bounds the HEAD requests of resolveDigests.
const digestConcurrency = 8

// manifestAccept lists the manifest types whose digest a tag resolves to:
// multi-platform indexes first, as docker and containerd ask.
var manifestAccept = strings.Join([]string{
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
}, ", ")

// addDigests sets each tag's manifest digest (HEAD of the manifest,
// Docker-Content-Digest), a few requests at a time. A tag deleted since the
// listing keeps no digest; any other failure fails the call.
func (c *Connector) addDigests(ctx context.Context, cred credential, repo string, items []contracts.Resource) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, digestConcurrency)
	var wg sync.WaitGroup
	for i := range items {
		if !tagName.MatchString(items[i].Name) {
			continue // not a tag a URL can name; leave it without a digest
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(item *contracts.Resource) {
			defer wg.Done()
			defer func() { <-sem }()
			digest, err := c.digest(ctx, cred, repo, item.Name)
			if err != nil {
				cancel(err)
				return
			}
			if digest != "" {
				item.Attributes["digest"] = digest
			}
		}(&items[i])
	}
	wg.Wait()
	err := context.Cause(ctx)
	var coded *resilience.Error
	if err != nil && !errors.As(err, &coded) {
		// The caller's context ended before a request could say so.
		return resilience.Wrap(resilience.Timeout, err, "resolve the digests of %s", repo)
	}
	return err
}

// digest returns a tag's manifest digest, "" when the tag is gone or the
// registry does not say.
func (c *Connector) digest(ctx context.Context, cred credential, repo, tag string) (string, error) {
	l := tags(repo)
	resp, err := c.send(ctx, cred, request{
		method: http.MethodHead, url: c.endpoint("/v2/"+repo+"/manifests/"+tag, nil), accept: manifestAccept, scope: l.scope,
	})
	if err != nil {
		return "", fmt.Errorf("resolve the digest of %s:%s: %w", repo, tag, err)
	}
	defer kit.Drain(resp)
	if resp.StatusCode == http.StatusNotFound {
		return "", nil
	}
	if err := c.hc.Check(resp); err != nil {
		return "", fmt.Errorf("resolve the digest of %s:%s: %w", repo, tag, err)
	}
	d := resp.Header.Get("Docker-Content-Digest")
	if algo, hexPart, ok := strings.Cut(d, ":"); !ok || algo == "" || hexPart == "" || len(d) > 200 {
		return "", nil
	}
	return d, nil
}
