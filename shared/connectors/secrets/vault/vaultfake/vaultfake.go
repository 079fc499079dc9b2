// Package vaultfake is an in-process fake of the parts of HashiCorp Vault's
// HTTP API the hub uses, faithful to what the real server answers: KV v1
// and v2 (versions, soft delete, destroy), AppRole and Kubernetes login,
// token lookup-self and renew-self with TTLs and max TTLs on an injected
// clock, sys/health with its status codes and query overrides, namespaces
// (X-Vault-Namespace, honoured only by an Enterprise server: the free
// edition ignores the header and serves the root namespace), sealed,
// standby and throttled states, and Vault's {"errors":[...]} bodies with
// its status codes. Where the fake was found kinder than Vault 1.21 and
// OpenBao 2.6 it was corrected: capabilities are those of the exact path
// asked, and a login at an auth mount that does not exist is 403. No Vault server can be
// installed here and Vault's in-process test cluster does not build from
// the published modules, so the vault package's tests drive this fake
// through the real github.com/hashicorp/vault/api client.
package vaultfake

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Root is the namespace of a Vault without namespaces.
const Root = ""

// Server is a running fake Vault.
type Server struct {
	// URL is the fake's address (http://127.0.0.1:port).
	URL string

	srv *httptest.Server

	mu         sync.Mutex
	now        time.Time
	ns         map[string]*namespace
	sealed     bool
	uninit     bool
	standby    bool
	perfSb     bool
	drSecond   bool
	enterprise bool
	throttle   int
	retryAfter int
	calls      map[string]int
	requests   []Request
}

// Request is one request the fake answered, for tests to assert on. It
// records whether a token was sent, never the token.
type Request struct {
	Method, Path, Namespace string
	HasToken                bool
	Status                  int
}

type namespace struct {
	mounts  map[string]*mount
	tokens  map[string]*token
	approle map[string]map[string]*appRole // auth mount -> role id -> role
	k8s     map[string]map[string]*k8sRole // auth mount -> role name -> role
}

type mount struct {
	version int
	// secrets by path; KV v1 keeps only versions[0].
	secrets map[string]*secret
}

type secret struct {
	versions []*version // index = version-1
	// deleteAll marks metadata deleted: the secret is gone entirely.
}

type version struct {
	data      map[string]any
	created   time.Time
	deleted   time.Time
	destroyed bool
}

// TokenOptions describe a token the fake issues or is given.
type TokenOptions struct {
	// Policies are path prefixes the token may read ("secret/data/docker/"),
	// or "root" for everything.
	Policies []string
	// TTL is the token's time to live; 0 = never expires (like a root token).
	TTL time.Duration
	// MaxTTL caps renewals; 0 = no cap.
	MaxTTL time.Duration
	// Renewable lets renew-self extend the TTL.
	Renewable bool
}

type token struct {
	id, accessor string
	opts         TokenOptions
	created      time.Time
	expires      time.Time // zero = never
	revoked      bool
}

type appRole struct {
	secretID string
	opts     TokenOptions
}

type k8sRole struct {
	jwt  string
	opts TokenOptions
}

// Start runs a fake Vault (initialised, unsealed, active, with a KV v2
// mount "secret" in the root namespace, as a dev server has) until t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), ns: map[string]*namespace{}, calls: map[string]int{}}
	s.namespace(Root).mounts["secret"] = &mount{version: 2, secrets: map[string]*secret{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Close stops the server (an outage); requests then fail to connect.
func (s *Server) Close() { s.srv.Close() }

// Now is the fake's clock; tokens expire by it.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Advance moves the fake's clock.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}

// Calls counts the requests whose path (without /v1/) starts with prefix.
func (s *Server) Calls(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for p, c := range s.calls {
		if strings.HasPrefix(p, prefix) {
			n += c
		}
	}
	return n
}

// Requests returns every request answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Seal seals (true) or unseals the fake.
func (s *Server) Seal(sealed bool) { s.set(func() { s.sealed = sealed }) }

// SetEnterprise makes the fake an Enterprise server, which honours
// X-Vault-Namespace; the default is the free edition, which ignores it.
func (s *Server) SetEnterprise(v bool) { s.set(func() { s.enterprise = v }) }

// SetInitialized marks the fake (un)initialised.
func (s *Server) SetInitialized(v bool) { s.set(func() { s.uninit = !v }) }

// SetStandby makes the node a (performance) standby.
func (s *Server) SetStandby(standby, performance bool) {
	s.set(func() { s.standby, s.perfSb = standby, performance })
}

// SetDRSecondary makes the node a disaster-recovery secondary.
func (s *Server) SetDRSecondary(v bool) { s.set(func() { s.drSecond = v }) }

// Throttle answers the next n requests (sys/health excepted) with 429, as a
// rate-limit quota does, with Retry-After: retryAfter seconds.
func (s *Server) Throttle(n, retryAfter int) {
	s.set(func() { s.throttle, s.retryAfter = n, retryAfter })
}

func (s *Server) set(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn()
}

// namespace returns (creating) a namespace. Called locked or before serving.
func (s *Server) namespace(name string) *namespace {
	n, ok := s.ns[name]
	if !ok {
		n = &namespace{mounts: map[string]*mount{}, tokens: map[string]*token{},
			approle: map[string]map[string]*appRole{}, k8s: map[string]map[string]*k8sRole{}}
		s.ns[name] = n
	}
	return n
}

// EnableKV mounts a KV engine of version 1 or 2 at path in a namespace
// (creating the namespace).
func (s *Server) EnableKV(ns, path string, version int) {
	s.set(func() { s.namespace(ns).mounts[path] = &mount{version: version, secrets: map[string]*secret{}} })
}

// Put writes a secret (a new version on KV v2) and returns its version.
func (s *Server) Put(ns, mountPath, path string, data map[string]any) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.namespace(ns).mounts[mountPath]
	if m == nil {
		panic("vaultfake: no mount " + mountPath)
	}
	sec := m.secrets[path]
	if sec == nil || m.version == 1 {
		sec = &secret{}
		m.secrets[path] = sec
	}
	sec.versions = append(sec.versions, &version{data: data, created: s.now})
	return len(sec.versions)
}

// Delete soft-deletes the latest version (KV v2) or removes the secret (v1).
func (s *Server) Delete(ns, mountPath, path string) {
	s.set(func() {
		m := s.namespace(ns).mounts[mountPath]
		sec := m.secrets[path]
		if sec == nil {
			return
		}
		if m.version == 1 {
			delete(m.secrets, path)
			return
		}
		sec.versions[len(sec.versions)-1].deleted = s.now
	})
}

// DeleteAll removes a secret and all its versions (KV v2 metadata delete).
func (s *Server) DeleteAll(ns, mountPath, path string) {
	s.set(func() { delete(s.namespace(ns).mounts[mountPath].secrets, path) })
}

// AddToken makes a token valid in a namespace.
func (s *Server) AddToken(ns, id string, opts TokenOptions) {
	s.set(func() { s.issueLocked(ns, id, opts) })
}

// RevokeToken revokes a token.
func (s *Server) RevokeToken(ns, id string) {
	s.set(func() {
		if t := s.namespace(ns).tokens[id]; t != nil {
			t.revoked = true
		}
	})
}

// AddAppRole enables AppRole login at auth/<authMount>/login for a role ID
// and secret ID, issuing tokens with opts.
func (s *Server) AddAppRole(ns, authMount, roleID, secretID string, opts TokenOptions) {
	s.set(func() {
		n := s.namespace(ns)
		if n.approle[authMount] == nil {
			n.approle[authMount] = map[string]*appRole{}
		}
		n.approle[authMount][roleID] = &appRole{secretID: secretID, opts: opts}
	})
}

// AddKubernetesRole enables Kubernetes login at auth/<authMount>/login for
// a role accepting one service-account JWT.
func (s *Server) AddKubernetesRole(ns, authMount, role, jwt string, opts TokenOptions) {
	s.set(func() {
		n := s.namespace(ns)
		if n.k8s[authMount] == nil {
			n.k8s[authMount] = map[string]*k8sRole{}
		}
		n.k8s[authMount][role] = &k8sRole{jwt: jwt, opts: opts}
	})
}

// Tokens counts the live (unexpired, unrevoked) tokens of a namespace.
func (s *Server) Tokens(ns string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.namespace(ns).tokens {
		if t.valid(s.now) {
			n++
		}
	}
	return n
}

func (s *Server) issueLocked(ns, id string, opts TokenOptions) *token {
	if id == "" {
		id = "hvs." + randomString(24)
	}
	t := &token{id: id, accessor: randomString(24), opts: opts, created: s.now}
	if opts.TTL > 0 {
		t.expires = s.now.Add(opts.TTL)
	}
	s.namespace(ns).tokens[id] = t
	return t
}

func (t *token) valid(now time.Time) bool {
	return !t.revoked && (t.expires.IsZero() || now.Before(t.expires))
}

func (t *token) ttl(now time.Time) int64 {
	if t.expires.IsZero() {
		return 0
	}
	return int64(t.expires.Sub(now) / time.Second)
}

// mayRead reports whether the token's policies cover a path.
func (t *token) mayRead(p string) bool {
	for _, pol := range t.opts.Policies {
		if pol == "root" || strings.HasPrefix(p, pol) {
			return true
		}
	}
	return false
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// serve is the HTTP handler.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rw := &recorder{ResponseWriter: w, status: 200}
	p := strings.TrimPrefix(r.URL.Path, "/v1/")
	ns := strings.Trim(r.Header.Get("X-Vault-Namespace"), "/")
	if !s.enterprise {
		ns = Root // the free edition ignores X-Vault-Namespace
	}
	s.calls[p]++
	defer func() {
		s.requests = append(s.requests, Request{Method: r.Method, Path: p, Namespace: ns,
			HasToken: r.Header.Get("X-Vault-Token") != "", Status: rw.status})
	}()
	if !strings.HasPrefix(r.URL.Path, "/v1/") {
		writeErrors(rw, http.StatusNotFound)
		return
	}
	switch {
	case p == "sys/health":
		s.health(rw, r)
		return
	case s.uninit:
		writeErrors(rw, http.StatusServiceUnavailable, "Vault is not initialized")
		return
	case s.sealed:
		writeErrors(rw, http.StatusServiceUnavailable, "Vault is sealed")
		return
	case s.throttle > 0:
		s.throttle--
		rw.Header().Set("Retry-After", strconv.Itoa(s.retryAfter))
		writeErrors(rw, http.StatusTooManyRequests, fmt.Sprintf("request path %q: rate limit quota exceeded", p))
		return
	}
	n, ok := s.ns[ns]
	if !ok {
		writeErrors(rw, http.StatusNotFound, fmt.Sprintf("no handler for route %q. route entry not found.", p))
		return
	}
	if mountPath, rest, ok := strings.Cut(p, "/"); ok && mountPath == "auth" && strings.HasSuffix(rest, "/login") {
		s.login(rw, r, ns, n, strings.TrimSuffix(rest, "/login"))
		return
	}
	t := n.tokens[r.Header.Get("X-Vault-Token")]
	if t == nil || !t.valid(s.now) {
		// Vault answers a missing, wrong, expired or revoked token alike.
		writeErrors(rw, http.StatusForbidden, "permission denied")
		return
	}
	switch {
	case p == "auth/token/lookup-self" && r.Method == http.MethodGet:
		s.lookupSelf(rw, t)
	case p == "auth/token/renew-self" && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		s.renewSelf(rw, r, t)
	case p == "sys/capabilities-self" && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		s.capabilities(rw, r, t)
	case strings.HasPrefix(p, "sys/internal/ui/mounts/") && r.Method == http.MethodGet:
		s.mountInfo(rw, n, t, strings.TrimPrefix(p, "sys/internal/ui/mounts/"))
	case r.Method == http.MethodGet:
		s.read(rw, r, n, t, p)
	default:
		writeErrors(rw, http.StatusMethodNotAllowed, "unsupported operation")
	}
}

// health answers sys/health with Vault's default codes (200 active, 429
// standby, 472 DR secondary, 473 performance standby, 501 uninitialised,
// 503 sealed), each overridable by its query parameter as Vault allows.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	code := func(param string, def int) int {
		if v := q.Get(param); v != "" {
			if n, err := strconv.Atoi(v); err == nil {
				return n
			}
		}
		return def
	}
	status := code("activecode", 200)
	switch {
	case s.uninit:
		status = code("uninitcode", 501)
	case s.sealed:
		status = code("sealedcode", 503)
	case s.drSecond:
		status = code("drsecondarycode", 472)
	case s.perfSb:
		if q.Get("perfstandbyok") == "true" {
			status = code("activecode", 200)
		} else {
			status = code("performancestandbycode", 473)
		}
	case s.standby:
		if q.Get("standbyok") == "true" {
			status = code("activecode", 200)
		} else {
			status = code("standbycode", 429)
		}
	}
	dr := "disabled"
	if s.drSecond {
		dr = "secondary"
	}
	writeJSON(w, status, map[string]any{
		"initialized": !s.uninit, "sealed": s.sealed, "standby": s.standby || s.perfSb,
		"performance_standby": s.perfSb, "replication_performance_mode": "disabled",
		"replication_dr_mode": dr, "server_time_utc": s.now.Unix(), "version": "1.21.4",
		"cluster_name": "vault-cluster-fake", "cluster_id": "00000000-0000-0000-0000-000000000000",
		"enterprise": s.enterprise, "echo_duration_ms": 0, "clock_skew_ms": 0,
	})
}

// login handles auth/<mount>/login for AppRole and Kubernetes.
func (s *Server) login(w http.ResponseWriter, r *http.Request, ns string, n *namespace, authMount string) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		writeErrors(w, http.StatusMethodNotAllowed, "unsupported operation")
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeErrors(w, http.StatusBadRequest, "failed to parse JSON input: "+err.Error())
		return
	}
	str := func(k string) string { v, _ := body[k].(string); return v }
	if roles, ok := n.approle[authMount]; ok {
		roleID, secretID := str("role_id"), str("secret_id")
		switch {
		case roleID == "":
			writeErrors(w, http.StatusBadRequest, "missing role_id")
			return
		case secretID == "":
			writeErrors(w, http.StatusBadRequest, "missing secret_id")
			return
		}
		role, ok := roles[roleID]
		if !ok || role.secretID != secretID {
			writeErrors(w, http.StatusBadRequest, "invalid role or secret ID")
			return
		}
		s.writeAuth(w, s.issueLocked(ns, "", role.opts), map[string]string{"role_name": "role"})
		return
	}
	if roles, ok := n.k8s[authMount]; ok {
		name, jwt := str("role"), str("jwt")
		if name == "" {
			writeErrors(w, http.StatusBadRequest, "missing role")
			return
		}
		role, ok := roles[name]
		if !ok {
			writeErrors(w, http.StatusBadRequest, fmt.Sprintf("invalid role name %q", name))
			return
		}
		if jwt == "" || jwt != role.jwt {
			writeErrors(w, http.StatusForbidden, "permission denied")
			return
		}
		s.writeAuth(w, s.issueLocked(ns, "", role.opts), map[string]string{"role": name})
		return
	}
	// An unauthenticated request to a path no mount serves is refused by
	// the ACL check before routing: Vault and OpenBao answer 403, not 404.
	writeErrors(w, http.StatusForbidden, "permission denied")
}

func (s *Server) writeAuth(w http.ResponseWriter, t *token, meta map[string]string) {
	writeJSON(w, http.StatusOK, map[string]any{
		"request_id": randomString(8), "lease_id": "", "renewable": false, "lease_duration": 0,
		"data": nil, "wrap_info": nil, "warnings": nil,
		"auth": map[string]any{
			"client_token": t.id, "accessor": t.accessor, "policies": append([]string{"default"}, t.opts.Policies...),
			"token_policies": append([]string{"default"}, t.opts.Policies...), "metadata": meta,
			"lease_duration": t.ttl(s.now), "renewable": t.opts.Renewable, "entity_id": "", "token_type": "service", "orphan": true,
		},
	})
}

// lookupSelf answers auth/token/lookup-self as Vault does (the answer
// includes the token itself as "id", so a client must never log it).
func (s *Server) lookupSelf(w http.ResponseWriter, t *token) {
	var expire any
	if !t.expires.IsZero() {
		expire = t.expires.Format(time.RFC3339Nano)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"request_id": randomString(8), "lease_id": "", "renewable": false, "lease_duration": 0,
		"data": map[string]any{
			"accessor": t.accessor, "creation_time": t.created.Unix(), "creation_ttl": int64(t.opts.TTL / time.Second),
			"display_name": "token", "entity_id": "", "expire_time": expire, "explicit_max_ttl": int64(t.opts.MaxTTL / time.Second),
			"id": t.id, "issue_time": t.created.Format(time.RFC3339Nano), "meta": nil, "num_uses": 0, "orphan": true,
			"path": "auth/token/create", "policies": append([]string{"default"}, t.opts.Policies...),
			"renewable": t.opts.Renewable, "ttl": t.ttl(s.now), "type": "service",
		},
		"wrap_info": nil, "warnings": nil, "auth": nil,
	})
}

// renewSelf extends a renewable token by the increment (or its TTL), capped
// by its max TTL, as auth/token/renew-self does.
func (s *Server) renewSelf(w http.ResponseWriter, r *http.Request, t *token) {
	if !t.opts.Renewable || t.opts.TTL == 0 {
		writeErrors(w, http.StatusBadRequest, "lease is not renewable")
		return
	}
	var body struct {
		Increment any `json:"increment"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	inc := t.opts.TTL
	switch v := body.Increment.(type) {
	case float64:
		if v > 0 {
			inc = time.Duration(v) * time.Second
		}
	case string:
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			inc = d
		} else if n, err := strconv.Atoi(v); err == nil && n > 0 {
			inc = time.Duration(n) * time.Second
		}
	}
	expires := s.now.Add(inc)
	var warnings []string
	if t.opts.MaxTTL > 0 {
		if limit := t.created.Add(t.opts.MaxTTL); expires.After(limit) {
			expires = limit
			warnings = append(warnings, "TTL of \""+inc.String()+"\" exceeded the effective max_ttl; TTL value is capped accordingly")
		}
	}
	t.expires = expires
	body2 := map[string]any{
		"request_id": randomString(8), "lease_id": "", "renewable": false, "lease_duration": 0, "data": nil, "wrap_info": nil,
		"warnings": warnings,
		"auth": map[string]any{
			"client_token": t.id, "accessor": t.accessor, "policies": append([]string{"default"}, t.opts.Policies...),
			"lease_duration": t.ttl(s.now), "renewable": t.opts.Renewable, "token_type": "service",
		},
	}
	writeJSON(w, http.StatusOK, body2)
}

// capabilities answers sys/capabilities-self for the paths asked.
func (s *Server) capabilities(w http.ResponseWriter, r *http.Request, t *token) {
	var body struct {
		Path  string   `json:"path"`
		Paths []string `json:"paths"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	paths := body.Paths
	if body.Path != "" {
		paths = append(paths, body.Path)
	}
	out := map[string]any{}
	var all []string
	for _, p := range paths {
		caps := []string{"deny"}
		switch {
		case slices.Contains(t.opts.Policies, "root"):
			caps = []string{"root"}
		case t.mayRead(p):
			// Only policies matching this exact path count: a token allowed
			// secret/data/app/* has no capability on secret/data/ itself.
			caps = []string{"read"}
		}
		out[p] = caps
		all = caps
	}
	out["capabilities"] = all
	writeJSON(w, http.StatusOK, map[string]any{"data": out, "capabilities": all})
}

// anyPolicyUnder reports whether a policy grants something below p.
func (s *Server) anyPolicyUnder(t *token, p string) bool {
	for _, pol := range t.opts.Policies {
		if strings.HasPrefix(pol, p) {
			return true
		}
	}
	return false
}

// mountInfo answers sys/internal/ui/mounts/<path>: the mount's type and
// options, or 403 when the token may use nothing under it (Vault answers an
// unknown mount the same way, so as not to tell what exists).
func (s *Server) mountInfo(w http.ResponseWriter, n *namespace, t *token, p string) {
	name := strings.Trim(p, "/")
	m, ok := n.mounts[name]
	if !ok || !(s.anyPolicyUnder(t, name+"/") || t.mayRead(name+"/")) {
		writeErrors(w, http.StatusForbidden, "preflight capability check returned 403, please ensure client's policies grant access to path \""+name+"/\"")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{
		"type": "kv", "path": name + "/", "options": map[string]string{"version": strconv.Itoa(m.version)},
		"description": "key/value secret storage", "local": false, "seal_wrap": false,
	}})
}

// read serves KV reads: <mount>/data/<path> on v2, <mount>/<path> on v1.
func (s *Server) read(w http.ResponseWriter, r *http.Request, n *namespace, t *token, p string) {
	mountPath, rest := "", ""
	for name := range n.mounts {
		if strings.HasPrefix(p, name+"/") && len(name) > len(mountPath) {
			mountPath, rest = name, strings.TrimPrefix(p, name+"/")
		}
	}
	if mountPath == "" {
		writeErrors(w, http.StatusNotFound, fmt.Sprintf("no handler for route %q. route entry not found.", p))
		return
	}
	if !t.mayRead(p) {
		writeErrors(w, http.StatusForbidden, "1 error occurred:\n\t* permission denied\n\n")
		return
	}
	m := n.mounts[mountPath]
	if m.version == 1 {
		sec := m.secrets[rest]
		if sec == nil {
			writeErrors(w, http.StatusNotFound)
			return
		}
		lease := int64(2764800) // Vault's default for KV v1: 768h
		if ttl, ok := sec.versions[0].data["ttl"].(string); ok {
			if d, err := time.ParseDuration(ttl); err == nil {
				lease = int64(d / time.Second)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"request_id": randomString(8), "lease_id": "", "renewable": false,
			"lease_duration": lease, "data": sec.versions[0].data, "wrap_info": nil, "warnings": nil, "auth": nil})
		return
	}
	sub, path, ok := strings.Cut(rest, "/")
	if !ok || sub != "data" {
		// What Vault answers a KV v1 style read of a v2 mount.
		writeJSON(w, http.StatusNotFound, map[string]any{"request_id": randomString(8), "data": nil, "warnings": []string{
			"Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. " +
				"If using the Vault CLI, use 'vault kv get' for this operation."}})
		return
	}
	sec := m.secrets[path]
	if sec == nil {
		writeErrors(w, http.StatusNotFound)
		return
	}
	idx := len(sec.versions) - 1
	if v := r.URL.Query().Get("version"); v != "" && v != "0" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > len(sec.versions) {
			writeErrors(w, http.StatusNotFound)
			return
		}
		idx = n - 1
	}
	ver := sec.versions[idx]
	meta := map[string]any{"created_time": ver.created.Format(time.RFC3339Nano), "custom_metadata": nil,
		"deletion_time": "", "destroyed": ver.destroyed, "version": idx + 1}
	var data any = ver.data
	status := http.StatusOK
	if !ver.deleted.IsZero() || ver.destroyed {
		data, status = nil, http.StatusNotFound
		if !ver.deleted.IsZero() {
			meta["deletion_time"] = ver.deleted.Format(time.RFC3339Nano)
		}
	}
	writeJSON(w, status, map[string]any{"request_id": randomString(8), "lease_id": "", "renewable": false, "lease_duration": 0,
		"data": map[string]any{"data": data, "metadata": meta}, "wrap_info": nil, "warnings": nil, "auth": nil})
}

// recorder keeps the status for the request log.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeErrors writes Vault's error body; a 404 of a missing secret has an
// empty list, as Vault's does.
func writeErrors(w http.ResponseWriter, status int, msgs ...string) {
	if msgs == nil {
		msgs = []string{}
	}
	sort.Strings(msgs)
	writeJSON(w, status, map[string]any{"errors": msgs})
}
