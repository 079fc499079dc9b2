package dockerregistry

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/stella-ops/inthub/shared/resilience"
)

// maxCachedTokens bounds the cache: one token per scope (per repository
// for tags) and credential.
const maxCachedTokens = 1024

// tokenCache keeps registry-issued tokens until their expires_in, keyed by
// scope and an HMAC of the credential (so rotated credentials never reuse
// the old ones' tokens, and no digest of a password is kept in the clear).
type tokenCache struct {
	mu      sync.Mutex
	hmacKey []byte
	entries map[string]cachedToken
}

type cachedToken struct {
	token   string
	expires time.Time
}

func newTokenCache() (*tokenCache, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, resilience.Wrap(resilience.UpstreamError, err, "token cache key")
	}
	return &tokenCache{hmacKey: key, entries: map[string]cachedToken{}}, nil
}

func (tc *tokenCache) key(scope string, cred credential) string {
	m := hmac.New(sha256.New, tc.hmacKey)
	for _, part := range []string{cred.user, cred.password, cred.token} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	return scope + "\x00" + hex.EncodeToString(m.Sum(nil))
}

func (tc *tokenCache) get(key string, now time.Time) string {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	e, ok := tc.entries[key]
	if !ok || !now.Before(e.expires) {
		return ""
	}
	return e.token
}

func (tc *tokenCache) put(key, token string, now time.Time, lifetime time.Duration) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if len(tc.entries) >= maxCachedTokens {
		for k, e := range tc.entries {
			if !now.Before(e.expires) {
				delete(tc.entries, k)
			}
		}
		for k := range tc.entries { // still full of live tokens: any will do
			if len(tc.entries) < maxCachedTokens {
				break
			}
			delete(tc.entries, k)
		}
	}
	tc.entries[key] = cachedToken{token: token, expires: now.Add(lifetime)}
}

func (tc *tokenCache) drop(key string) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	delete(tc.entries, key)
}

func (tc *tokenCache) clear() {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	clear(tc.entries)
}
