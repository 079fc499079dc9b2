package testsvc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Media types of the images Push writes (OCI image manifests).
const (
	MediaTypeOCIManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaTypeOCIConfig   = "application/vnd.oci.image.config.v1+json"
	mediaTypeOCILayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

// pushClient talks to the test's own registry only.
var pushClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil}}

// Push writes a small OCI image to repo under each tag through the registry
// HTTP API (monolithic blob uploads: POST then PUT, then a manifest PUT per
// tag) and returns each tag's manifest digest; every tag has its own. It authenticates as the registry's first user (basic), or
// with a token minted for repo (token auth).
func (r *Registry) Push(t testing.TB, repo string, tags ...string) map[string]string {
	t.Helper()
	return r.PushAll(t, []string{repo}, tags...)[repo]
}

// PushAll pushes every repository with the same tags, a few at a time (the
// registry takes some milliseconds per write), and returns repository ->
// tag -> digest.
func (r *Registry) PushAll(t testing.TB, repos []string, tags ...string) map[string]map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var (
		mu   sync.Mutex
		out  = make(map[string]map[string]string, len(repos))
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, pushConcurrency)
	)
	for _, repo := range repos {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			digests, err := r.push(ctx, repo, tags)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			out[repo] = digests
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("testsvc: %v", err)
	}
	return out
}

// pushConcurrency is how many repositories PushAll writes at once.
const pushConcurrency = 8

// PushCreated writes one image per tag whose config says it was created
// at the given time (as a build sets it), and returns each tag's digest.
func (r *Registry) PushCreated(t testing.TB, repo string, created map[string]time.Time) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := map[string]string{}
	for tag, at := range created {
		cfg := fmt.Sprintf(`{"architecture":"amd64","os":"linux","created":%q,"rootfs":{"type":"layers","diff_ids":[]}}`, at.UTC().Format(time.RFC3339Nano))
		d, err := r.pushConfig(ctx, repo, []byte(cfg), []string{tag})
		if err != nil {
			t.Fatalf("testsvc: %v", err)
		}
		out[tag] = d[tag]
	}
	return out
}

func (r *Registry) push(ctx context.Context, repo string, tags []string) (map[string]string, error) {
	return r.pushConfig(ctx, repo, []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`), tags)
}

func (r *Registry) pushConfig(ctx context.Context, repo string, cfg []byte, tags []string) (map[string]string, error) {
	p := pusher{reg: r, repo: repo}
	layer := []byte("testsvc layer of " + repo)
	for _, blob := range [][]byte{layer, cfg} {
		if err := p.uploadBlob(ctx, blob); err != nil {
			return nil, fmt.Errorf("push %s: blob: %w", repo, err)
		}
	}
	digests := make(map[string]string, len(tags))
	for _, tag := range tags {
		// The annotation gives every tag its own manifest, hence digest.
		manifest, err := json.Marshal(map[string]any{
			"schemaVersion": 2,
			"mediaType":     MediaTypeOCIManifest,
			"config":        descriptor(mediaTypeOCIConfig, cfg),
			"layers":        []any{descriptor(mediaTypeOCILayer, layer)},
			"annotations":   map[string]string{"org.opencontainers.image.ref.name": repo + ":" + tag},
		})
		if err != nil {
			return nil, err
		}
		resp, err := p.send(ctx, http.MethodPut, r.URL+"/v2/"+repo+"/manifests/"+tag, MediaTypeOCIManifest, manifest)
		if err != nil {
			return nil, fmt.Errorf("push %s:%s: manifest: %w", repo, tag, err)
		}
		want := digestOf(manifest)
		if got := resp.Header.Get("Docker-Content-Digest"); got != want {
			return nil, fmt.Errorf("push %s:%s: registry says digest %q, want %q", repo, tag, got, want)
		}
		digests[tag] = want
	}
	return digests, nil
}

// pusher is one repository's upload session.
type pusher struct {
	reg   *Registry
	repo  string
	token string
}

// uploadBlob does a monolithic upload: POST opens it, PUT with the digest
// sends the content and closes it.
func (p *pusher) uploadBlob(ctx context.Context, content []byte) error {
	resp, err := p.send(ctx, http.MethodPost, p.reg.URL+"/v2/"+p.repo+"/blobs/uploads/", "", nil)
	if err != nil {
		return err
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return fmt.Errorf("upload location: %w", err)
	}
	loc = mustParse(p.reg.URL).ResolveReference(loc)
	q := loc.Query()
	q.Set("digest", digestOf(content))
	loc.RawQuery = q.Encode()
	_, err = p.send(ctx, http.MethodPut, loc.String(), "application/octet-stream", content)
	return err
}

// send makes one authenticated request and wants a 2xx answer.
func (p *pusher) send(ctx context.Context, method, rawURL, contentType string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	switch users := sortedUsers(p.reg.users); {
	case p.reg.Token != nil:
		if p.token == "" {
			p.token = p.reg.Token.Mint("testsvc-pusher", Access{Type: "repository", Name: p.repo, Actions: []string{"pull", "push"}})
		}
		req.Header.Set("Authorization", "Bearer "+p.token)
	case len(users) > 0:
		req.SetBasicAuth(users[0], p.reg.users[users[0]])
	}
	resp, err := pushClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: HTTP %d: %s", method, req.URL.Path, resp.StatusCode, b)
	}
	return resp, nil
}

func descriptor(mediaType string, content []byte) map[string]any {
	return map[string]any{"mediaType": mediaType, "size": len(content), "digest": digestOf(content)}
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func mustParse(raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u
}

// PushTagged writes one small image to repo and tags that one manifest
// with every tag (the same manifest PUT under each tag name, 16 at a
// time): tens of thousands of tags in seconds, for tests and benchmarks of
// very large repositories. It returns the manifest's digest.
func (r *Registry) PushTagged(t testing.TB, repo string, tags []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if len(tags) == 0 {
		t.Fatalf("testsvc: PushTagged of %s without a tag", repo)
	}
	// The first tag pushes the blobs and the manifest, the others only tag it.
	first, err := r.push(ctx, repo, tags[:1])
	if err != nil {
		t.Fatalf("testsvc: %v", err)
	}
	digest := first[tags[0]]
	p := &pusher{reg: r, repo: repo}
	manifest, err := r.manifest(ctx, p, repo, tags[0])
	if err != nil {
		t.Fatalf("testsvc: %v", err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan string)
	)
	for range 16 {
		wg.Go(func() {
			for tag := range next {
				if _, err := p.send(ctx, http.MethodPut, r.URL+"/v2/"+repo+"/manifests/"+tag, MediaTypeOCIManifest, manifest); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("tag %s:%s: %w", repo, tag, err))
					mu.Unlock()
				}
			}
		})
	}
	for _, tag := range tags[1:] {
		next <- tag
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("testsvc: %v", err)
	}
	return digest
}

// manifest reads back the manifest of repo:tag, and leaves p holding its
// credential for the writes that follow (set before they start, so the
// concurrent writers only read it).
func (r *Registry) manifest(ctx context.Context, p *pusher, repo, tag string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL+"/v2/"+repo+"/manifests/"+tag, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", MediaTypeOCIManifest)
	switch users := sortedUsers(r.users); {
	case r.Token != nil:
		p.token = r.Token.Mint("testsvc-pusher", Access{Type: "repository", Name: repo, Actions: []string{"pull", "push"}})
		req.Header.Set("Authorization", "Bearer "+p.token)
	case len(users) > 0:
		req.SetBasicAuth(users[0], r.users[users[0]])
	}
	resp, err := pushClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read manifest %s:%s: HTTP %d %v", repo, tag, resp.StatusCode, err)
	}
	return b, nil
}
