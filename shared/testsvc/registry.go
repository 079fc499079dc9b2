package testsvc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// RegistryBinary is Debian's build of the CNCF distribution registry.
const RegistryBinary = "/usr/bin/docker-registry"

// RegistryOptions configures StartRegistry.
type RegistryOptions struct {
	// Users turns on htpasswd basic auth with these user -> password pairs,
	// or, with TokenAuth, are the users the token server accepts.
	Users map[string]string
	// TokenAuth turns on the Docker token flow: the registry challenges with
	// Bearer and trusts JWTs from a token server the test runs in process.
	TokenAuth bool
	// TokenTTL is the expires_in of issued tokens; 0 means 5 minutes.
	TokenTTL time.Duration
	// TokenGrant restricts what the token server grants (see
	// TokenServerOptions.Grant).
	TokenGrant func(subject string, requested Access) bool
	// TokenRealmHost names the token server in the registry's challenge
	// (see TokenServerOptions.RealmHost).
	TokenRealmHost string
}

// Registry is a running docker-registry.
type Registry struct {
	*Server
	// Token is the token server of a TokenAuth registry, nil otherwise.
	Token *TokenServer
	users map[string]string
}

// StartRegistry runs docker-registry with filesystem storage in a temporary
// directory on a free loopback port until t ends.
func StartRegistry(t testing.TB, opts RegistryOptions) *Registry {
	t.Helper()
	r := &Registry{users: opts.Users}
	if opts.TokenAuth {
		r.Token = StartTokenServer(t, TokenServerOptions{Users: opts.Users, TTL: opts.TokenTTL, Grant: opts.TokenGrant, RealmHost: opts.TokenRealmHost})
	}
	r.Server = start(t, r.spec())
	return r
}

// RunRegistry starts an anonymous docker-registry with its files in dir,
// outside a test (schedbench checks it): the caller stops it with Close.
func RunRegistry(dir string) (*Registry, error) {
	r := &Registry{}
	s, err := runOutsideTest(r.spec(), dir)
	if err != nil {
		return nil, err
	}
	r.Server = s
	return r, nil
}

// spec is how to run r.
func (r *Registry) spec() serverSpec {
	return serverSpec{
		name: "docker-registry", bin: RegistryBinary, install: "docker-registry",
		configure: r.configure,
		ready: func(ctx context.Context, base string) bool {
			s := probe(ctx, base+"/v2/", "", "")
			return s == http.StatusOK || s == http.StatusUnauthorized
		},
	}
}

// configure writes config.yml (and htpasswd or the token server's
// certificate) into dir and returns the registry's arguments.
func (r *Registry) configure(dir string, port int) ([]string, error) {
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	storage := filepath.Join(dir, "storage")
	if err := os.MkdirAll(storage, 0o700); err != nil {
		return nil, err
	}
	var auth string
	switch {
	case r.Token != nil:
		bundle := filepath.Join(dir, "token-root.pem")
		if err := os.WriteFile(bundle, r.Token.CertificatePEM(), 0o600); err != nil {
			return nil, err
		}
		auth = fmt.Sprintf("auth:\n  token:\n    realm: %s\n    service: %s\n    issuer: %s\n    rootcertbundle: %s\n",
			quote(r.Token.Realm()), quote(r.Token.Service), quote(r.Token.Issuer), quote(bundle))
	case len(r.users) > 0:
		htpasswd := filepath.Join(dir, "htpasswd")
		if err := writeHtpasswd(htpasswd, r.users); err != nil {
			return nil, err
		}
		auth = fmt.Sprintf("auth:\n  htpasswd:\n    realm: testsvc\n    path: %s\n", quote(htpasswd))
	}
	config := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:%d
  secret: %s
%s`, quote(storage), port, hex.EncodeToString(secret), auth)
	path := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		return nil, err
	}
	return []string{"serve", path}, nil
}

// writeHtpasswd writes user:bcrypt lines; the lowest bcrypt cost keeps the
// registry's check of every request fast.
func writeHtpasswd(path string, users map[string]string) error {
	var b strings.Builder
	for _, u := range sortedUsers(users) {
		hash, err := bcrypt.GenerateFromPassword([]byte(users[u]), bcrypt.MinCost)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s:%s\n", u, hash)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

func sortedUsers(users map[string]string) []string {
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	slices.Sort(names)
	return names
}

// quote renders s as a YAML double-quoted scalar.
func quote(s string) string { return strconv.Quote(s) }
