package testsvc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// Media types of the images Push writes.
const (
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeDockerConfig   = "application/vnd.docker.container.image.v1+json"
	mediaTypeDockerLayer    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
)

// pushClient talks to the test's own registry only.
var pushClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil}}

// Push writes a small image to repo under each tag through the registry
// HTTP API (monolithic blob uploads: POST then PUT, then a manifest PUT) and
// returns each tag's manifest digest. Every tag gets its own config, hence
// its own digest. It authenticates as the registry's first user (basic), or
// with a token minted for repo (token auth).
func (r *Registry) Push(t testing.TB, repo string, tags ...string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := pusher{reg: r, repo: repo}
	layer := []byte("testsvc layer of " + repo)
	if err := p.uploadBlob(ctx, layer); err != nil {
		t.Fatalf("testsvc: push %s: layer: %v", repo, err)
	}
	digests := make(map[string]string, len(tags))
	for _, tag := range tags {
		cfg := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","config":{"Labels":{"tag":%q}},"rootfs":{"type":"layers","diff_ids":[]}}`, repo+":"+tag))
		if err := p.uploadBlob(ctx, cfg); err != nil {
			t.Fatalf("testsvc: push %s:%s: config: %v", repo, tag, err)
		}
		manifest, err := json.Marshal(map[string]any{
			"schemaVersion": 2,
			"mediaType":     MediaTypeDockerManifest,
			"config":        descriptor(mediaTypeDockerConfig, cfg),
			"layers":        []any{descriptor(mediaTypeDockerLayer, layer)},
		})
		if err != nil {
			t.Fatalf("testsvc: push %s:%s: %v", repo, tag, err)
		}
		resp, err := p.send(ctx, http.MethodPut, r.URL+"/v2/"+repo+"/manifests/"+tag, MediaTypeDockerManifest, manifest)
		if err != nil {
			t.Fatalf("testsvc: push %s:%s: manifest: %v", repo, tag, err)
		}
		want := digestOf(manifest)
		if got := resp.Header.Get("Docker-Content-Digest"); got != want {
			t.Fatalf("testsvc: push %s:%s: registry says digest %q, want %q", repo, tag, got, want)
		}
		digests[tag] = want
	}
	return digests
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
