package connectortest

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/runtime"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// RunConformance is the suite every provider runs (as Watermill's
// tests.TestPubSub runs against every Pub/Sub): the provider supplies its
// spec, how to point an integration at a server, and a server (a fake
// faithful to the provider's API, or the real one); the suite proves, each
// in a named subtest, that
//
//   - capabilities: the declared capabilities, check levels and resource
//     types are exactly what the connector implements;
//   - health/<case>: every check level classifies a healthy server, a
//     refused connection, a server that never answers, wrong credentials, a
//     429 with Retry-After and a destination the default guard refuses into
//     the right code;
//   - discovery/<type>: discovery follows cursors to the end without
//     duplicates and honours the name filter;
//   - no secret in texts: no form of any secret used is in an error text,
//     a resource field or a cursor the suite saw.
//
// Connectors are built through runtime.Pool, as the services build them:
// value-scrubbing wrapper, guarded client, tenant-bound credentials.
func RunConformance(t *testing.T, p Provider) {
	t.Helper()
	if p.Spec == nil || p.Integration == nil || (p.Start == nil && p.Simulate == nil) {
		t.Fatal("conformance: Provider needs Spec, Integration and Start (or Simulate)")
	}
	r := &conformance{p: p}
	t.Run("cases", func(t *testing.T) {
		t.Run("capabilities", r.capabilities)
		for _, c := range []Case{CaseHealthy, CaseRefused, CaseTimeout, CaseAuthFailure, CaseRateLimited, CaseBlocked} {
			t.Run("health/"+string(c), func(t *testing.T) {
				t.Parallel()
				r.health(t, c)
			})
		}
		for _, rt := range p.Spec.ResourceTypes {
			t.Run("discovery/"+rt, func(t *testing.T) {
				t.Parallel()
				r.discovery(t, rt)
			})
		}
	})
	t.Run("no secret in texts", r.noSecret)
}

// Provider is what a provider package gives the conformance suite.
type Provider struct {
	// Spec is the provider under test.
	Spec *connectors.Spec
	// Start starts a server for one subtest (stopped by t.Cleanup) holding
	// the discovery data of Discovery and accepting the valid credentials
	// of Integration. Nil only with Simulate.
	Start func(t *testing.T) Server
	// Integration returns how an integration reaches a server at base (an
	// http://127.0.0.1:port URL; the provider maps it to its own fields: a
	// host and port, an endpoint, https with its caCert) with valid
	// credentials, or with credentials the server refuses when wrong.
	Integration func(base *url.URL, wrong bool) Integration
	// AuthFailure is the code wrong credentials get from the authentication
	// and functionality levels: AUTHENTICATION_FAILED when empty,
	// PERMISSION_DENIED for a provider whose API cannot tell the two apart.
	AuthFailure resilience.Code
	// Discovery has one case per declared resource type.
	Discovery []Discovery
	// NoRetryAfter, when set, says why the provider's rate-limit answer
	// carries no delay: RATE_LIMITED is then checked without one.
	NoRetryAfter string
	// NotApplicable names the health cases the provider cannot meet, each
	// with the reason (e.g. SMTP has no 429).
	NotApplicable map[Case]string
	// Exceptions are levels that answer otherwise than the suite expects in
	// a case, each with its reason.
	Exceptions []Exception
	// Simulate is for a provider that makes no connection (the test-only
	// in-memory registry): it returns the config that makes the connector
	// simulate c, nil when it cannot. Start is then not called and the
	// server-dependent parts of each case are left out.
	Simulate func(c Case) map[string]any
}

// Integration is what an integration holds to reach a server.
type Integration struct {
	// Config is the provider's config; the suite sets timeout itself.
	Config map[string]any
	// CredentialRef is the integration's credentialRef, "" for none; use
	// SecretRef for it and for secret config fields.
	CredentialRef string
	// Secrets holds the value of each SecretRef(name) by name.
	Secrets map[string]string
}

// Server is a provider's server started for one subtest.
type Server struct {
	// URL is its base, http://127.0.0.1:port.
	URL string
	// RateLimit makes every following request answer as the provider
	// answers a rate-limited call: 429 (or the provider's own status) with
	// Retry-After: RetryAfterSeconds. Nil only with NotApplicable for
	// CaseRateLimited.
	RateLimit func()
}

// Discovery is the discovery data a server holds for one resource type.
type Discovery struct {
	ResourceType string
	// Scope is the filter every query carries (the repository of tags);
	// its NamePattern is ignored.
	Scope contracts.DiscoveryFilter
	// PageSize is the page size asked for; Total (more than PageSize) is
	// the number of resources the server holds.
	PageSize, Total int
	// NamePattern selects Matching of them (more than none, fewer than all).
	NamePattern string
	Matching    int
	// Unpaged, when set, says why the server answers the whole listing in
	// one page whatever the page size (a server that ignores it): paging is
	// then not required, the count and the filter still are.
	Unpaged string
}

// Exception is one check level answering otherwise than expected.
type Exception struct {
	Case  Case
	Level contracts.CheckType
	// Want is the code the level answers, "" for success.
	Want resilience.Code
	Why  string
}

// Case is one health case of the suite.
type Case string

// The health cases.
const (
	CaseHealthy     Case = "healthy"
	CaseRefused     Case = "connection-refused"
	CaseTimeout     Case = "timeout"
	CaseAuthFailure Case = "authentication-failure"
	CaseRateLimited Case = "rate-limited"
	CaseBlocked     Case = "destination-blocked"
)

// RetryAfterSeconds is the Retry-After a rate-limited server sends.
const RetryAfterSeconds = 7

// conformanceTenant owns every integration of the suite; its env://
// references are INTHUB_CONF_<name>.
const conformanceTenant = "00000000-0000-4000-8000-00000000c0f0"

// SecretRef is the credential reference the suite resolves to
// Integration.Secrets[name].
func SecretRef(name string) string { return "env://INTHUB_CONF_" + name }

type conformance struct {
	p Provider

	mu      sync.Mutex
	texts   []string
	secrets []map[string]string
}

// note keeps a text the connector returned and the secrets in play, for
// the final secret check.
func (r *conformance) note(secrets map[string]string, texts ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.texts = append(r.texts, texts...)
	r.secrets = append(r.secrets, secrets)
}

// build builds the integration's connector through a runtime pool with
// policy, the config's timeout set to timeout seconds.
func (r *conformance) build(t *testing.T, in Integration, policy httpx.GuardPolicy, timeout int) (connectors.Connector, error) {
	t.Helper()
	cfg := map[string]any{}
	for k, v := range in.Config {
		cfg[k] = v
	}
	cfg["timeout"] = float64(timeout)
	if err := r.p.Spec.ValidateConfig(cfg); err != nil {
		t.Fatalf("conformance: the provider's config is refused by its spec: %v", err)
	}
	grants, err := credentials.ParseLocalPolicy(conformanceTenant+"=CONF", "INTHUB_", "/nonexistent")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for k, v := range in.Secrets {
		env["INTHUB_CONF_"+k] = v
	}
	resolver := &credentials.Resolver{Local: credentials.LocalResolver{
		Policy:    grants,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	}}
	pool := runtime.NewPool(connectors.NewRegistry(r.p.Spec), resolver, policy, nil)
	t.Cleanup(pool.Close)
	conn, _, err := pool.Get(context.Background(), contracts.Integration{
		ID: "conformance-1", TenantID: conformanceTenant, TypeID: r.p.Spec.ID, Revision: 1,
		Config: cfg, CredentialRef: in.CredentialRef,
	})
	return conn, err
}

// start starts the provider's server, or returns a zero Server for a
// simulating provider.
func (r *conformance) start(t *testing.T) (Server, *url.URL) {
	t.Helper()
	if r.p.Start == nil {
		return Server{}, &url.URL{Scheme: "http", Host: "127.0.0.1:1"}
	}
	srv := r.p.Start(t)
	u, err := url.Parse(srv.URL)
	if err != nil || u.Host == "" {
		t.Fatalf("conformance: server URL %q: %v", srv.URL, err)
	}
	return srv, u
}

// integration is the provider's integration for base with c's simulation
// applied; ok is false when a simulating provider cannot simulate c.
func (r *conformance) integration(base *url.URL, wrong bool, c Case) (Integration, bool) {
	in := r.p.Integration(base, wrong)
	if r.p.Simulate == nil {
		return in, true
	}
	sim := r.p.Simulate(c)
	if sim == nil {
		return in, false
	}
	cfg := map[string]any{}
	for k, v := range in.Config {
		cfg[k] = v
	}
	for k, v := range sim {
		cfg[k] = v
	}
	in.Config = cfg
	return in, true
}

func (r *conformance) capabilities(t *testing.T) {
	s := r.p.Spec
	_, base := r.start(t)
	in, _ := r.integration(base, false, CaseHealthy)
	conn, err := r.build(t, in, httpx.GuardPolicy{AllowPrivate: true}, 5)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	implemented := map[connectors.Capability]bool{}
	_, implemented[connectors.CapCheck] = connectors.AsChecker(conn)
	_, implemented[connectors.CapDiscover] = connectors.AsDiscoverer(conn)
	_, implemented[connectors.CapTrigger] = connectors.AsTriggerer(conn)
	_, implemented[connectors.CapNotify] = connectors.AsNotifier(conn)
	_, implemented[connectors.CapQuery] = connectors.AsMetricsQuerier(conn)
	_, implemented[connectors.CapReadSecret] = connectors.AsSecretReader(conn)
	_, implemented[connectors.CapFollowRuns] = connectors.AsRunFollower(conn)
	for _, c := range s.Capabilities {
		if _, known := implemented[c]; !known {
			t.Errorf("capability %q is declared but is no capability the hub knows", c)
		}
	}
	for c, ok := range implemented {
		declared := slices.Contains(s.Capabilities, c)
		switch {
		case ok && !declared:
			t.Errorf("the connector implements capability %q but the spec does not declare it", c)
		case !ok && declared:
			t.Errorf("the spec declares capability %q but the connector does not implement it", c)
		}
	}
	if implemented[connectors.CapCheck] != (len(s.CheckLevels) > 0) {
		t.Errorf("check levels %v do not match the check capability (implemented %v)", s.CheckLevels, implemented[connectors.CapCheck])
	}
	for _, l := range s.CheckLevels {
		if !slices.Contains(contracts.CheckTypes, l) {
			t.Errorf("check level %q is not one of %v", l, contracts.CheckTypes)
		}
	}
	if implemented[connectors.CapDiscover] != (len(s.ResourceTypes) > 0) {
		t.Errorf("resource types %v do not match the discover capability (implemented %v)", s.ResourceTypes, implemented[connectors.CapDiscover])
	}
	for _, rt := range s.ResourceTypes {
		if !slices.ContainsFunc(r.p.Discovery, func(d Discovery) bool { return d.ResourceType == rt }) {
			t.Errorf("resource type %q is declared but the provider's conformance test has no Discovery case for it", rt)
		}
	}
	for _, d := range r.p.Discovery {
		if !s.HasResourceType(d.ResourceType) {
			t.Errorf("Discovery case for %q, which the spec does not declare", d.ResourceType)
		}
	}
	if d, ok := connectors.AsDiscoverer(conn); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err := d.Discover(ctx, connectors.DiscoveryQuery{ResourceType: "conformance-undeclared", PageSize: 10})
		r.note(in.Secrets, errText(err))
		if code := resilience.CodeOf(err); code != resilience.NotSupported && code != resilience.InvalidConfig {
			t.Errorf("discovering an undeclared resource type: %v (code %q), want NOT_SUPPORTED or INVALID_CONFIG", err, code)
		}
	}
}

// expected is what a level should answer in c: the codes it may answer
// ("" for success) and, for rate limiting, the delay it must carry.
func (r *conformance) expected(c Case, l contracts.CheckType) ([]resilience.Code, bool) {
	for _, e := range r.p.Exceptions {
		if e.Case == c && e.Level == l {
			return []resilience.Code{e.Want}, false
		}
	}
	auth := r.p.AuthFailure
	if auth == "" {
		auth = resilience.AuthenticationFailed
	}
	switch c {
	case CaseHealthy:
		return []resilience.Code{""}, false
	case CaseRefused:
		return []resilience.Code{resilience.ConnectionRefused}, false
	case CaseTimeout:
		return []resilience.Code{resilience.Timeout}, false
	case CaseAuthFailure:
		if l == contracts.CheckConnectivity {
			// Reaching a server needs no credential; a level that sends one
			// anyway must classify its refusal.
			return []resilience.Code{"", auth}, false
		}
		return []resilience.Code{auth}, false
	case CaseRateLimited:
		return []resilience.Code{resilience.RateLimited}, r.p.NoRetryAfter == ""
	case CaseBlocked:
		return []resilience.Code{resilience.DestinationBlocked}, false
	}
	return nil, false
}

// target is the server a health case points its integration at.
type target struct {
	base     *url.URL
	policy   httpx.GuardPolicy
	timeout  int
	wrong    bool
	accepted *atomic.Int64 // connections a listener of the case accepted
}

func (r *conformance) health(t *testing.T, c Case) {
	if why, ok := r.p.NotApplicable[c]; ok {
		if why == "" {
			t.Fatalf("NotApplicable[%s] needs a reason", c)
		}
		t.Skipf("not applicable to %s: %s", r.p.Spec.ID, why)
	}
	for _, e := range r.p.Exceptions {
		if e.Why == "" {
			t.Fatalf("exception for %s/%s needs a reason", e.Case, e.Level)
		}
	}
	loopback := httpx.GuardPolicy{AllowPrivate: true}
	var targets []target
	switch c {
	case CaseHealthy, CaseAuthFailure:
		_, base := r.start(t)
		targets = []target{{base: base, policy: loopback, timeout: 5, wrong: c == CaseAuthFailure}}
	case CaseRateLimited:
		srv, base := r.start(t)
		if srv.RateLimit == nil && r.p.Simulate == nil {
			t.Fatalf("the provider's Server has no RateLimit: give one or say in NotApplicable why not")
		}
		if srv.RateLimit != nil {
			srv.RateLimit()
		}
		targets = []target{{base: base, policy: loopback, timeout: 5}}
	case CaseRefused:
		targets = []target{{base: closedPort(t), policy: loopback, timeout: 5}}
	case CaseTimeout:
		base, _ := silentServer(t)
		targets = []target{{base: base, policy: loopback, timeout: 1}}
	case CaseBlocked:
		// The default policy (the zero GuardPolicy) refuses loopback and the
		// cloud metadata address; the listener proves no connection is
		// even opened.
		base, accepted := silentServer(t)
		targets = []target{
			{base: base, timeout: 2, accepted: accepted},
			{base: &url.URL{Scheme: "http", Host: "169.254.169.254:80"}, timeout: 2},
		}
	}
	for _, tg := range targets {
		in, ok := r.integration(tg.base, tg.wrong, c)
		if !ok {
			t.Skipf("%s makes no connection and cannot simulate %s", r.p.Spec.ID, c)
		}
		conn, buildErr := r.build(t, in, tg.policy, tg.timeout)
		if buildErr != nil {
			r.note(in.Secrets, buildErr.Error())
		}
		var checker connectors.Checker
		if buildErr == nil {
			var ok bool
			if checker, ok = connectors.AsChecker(conn); !ok {
				t.Skipf("%s has no health checks", r.p.Spec.ID)
			}
		}
		// The levels run side by side: a case that waits for a timeout
		// waits once.
		type result struct {
			err     error
			elapsed time.Duration
		}
		results := make([]result, len(r.p.Spec.CheckLevels))
		var wg sync.WaitGroup
		for i, l := range r.p.Spec.CheckLevels {
			wg.Go(func() {
				if buildErr != nil {
					results[i] = result{err: buildErr}
					return
				}
				deadline := 20 * time.Second
				if c == CaseTimeout {
					deadline = 6 * time.Second
					if r.p.Simulate != nil {
						deadline = 1500 * time.Millisecond
					}
				}
				// On demand, as POST /test runs them: the levels do all they
				// can, a signed test delivery included, which scheduled
				// checks leave out (connectors.OnDemand).
				ctx, cancel := context.WithTimeout(connectors.OnDemand(context.Background()), deadline)
				defer cancel()
				start := time.Now()
				results[i] = result{err: level(ctx, checker, l), elapsed: time.Since(start)}
			})
		}
		wg.Wait()
		for i, l := range r.p.Spec.CheckLevels {
			err := results[i].err
			r.note(in.Secrets, errText(err))
			want, retryAfter := r.expected(c, l)
			got := resilience.CodeOf(err)
			if !slices.Contains(want, got) {
				t.Errorf("%s level against %s: %v (code %q), want %s", l, tg.base.Host, err, got, codes(want))
				continue
			}
			if err != nil && got != "" {
				var coded *resilience.Error
				if !errors.As(err, &coded) {
					t.Errorf("%s level: %v carries no resilience error", l, err)
				}
			}
			if retryAfter && got == resilience.RateLimited {
				if d := resilience.RetryAfterOf(err); d != RetryAfterSeconds*time.Second {
					t.Errorf("%s level: rate limited with Retry-After %v, want %ds carried", l, d, RetryAfterSeconds)
				}
			}
			if c == CaseTimeout && r.p.Simulate == nil && results[i].elapsed > 4500*time.Millisecond {
				t.Errorf("%s level took %v with a 1 s timeout configured: the connector does not honour its timeout", l, results[i].elapsed)
			}
		}
		if tg.accepted != nil && tg.accepted.Load() != 0 {
			t.Errorf("the guard let %d connection(s) reach a refused destination", tg.accepted.Load())
		}
	}
}

func (r *conformance) discovery(t *testing.T, rt string) {
	i := slices.IndexFunc(r.p.Discovery, func(d Discovery) bool { return d.ResourceType == rt })
	if i < 0 {
		t.Fatalf("resource type %q has no Discovery case", rt)
	}
	dc := r.p.Discovery[i]
	if dc.PageSize <= 0 || dc.Total <= dc.PageSize {
		t.Fatalf("Discovery %s: Total (%d) must exceed PageSize (%d) so that discovery pages", rt, dc.Total, dc.PageSize)
	}
	if dc.NamePattern == "" || dc.Matching <= 0 || dc.Matching >= dc.Total {
		t.Fatalf("Discovery %s: NamePattern must select some but not all resources (Matching %d of %d)", rt, dc.Matching, dc.Total)
	}
	_, base := r.start(t)
	in, _ := r.integration(base, false, CaseHealthy)
	conn, err := r.build(t, in, httpx.GuardPolicy{AllowPrivate: true}, 5)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	d, ok := connectors.AsDiscoverer(conn)
	if !ok {
		t.Fatalf("%s declares resource type %q but does not discover", r.p.Spec.ID, rt)
	}
	ctx := func() context.Context { return Context(t, 20*time.Second) }
	walk := func(pattern string) []contracts.Resource {
		q := connectors.DiscoveryQuery{ResourceType: rt, Filter: dc.Scope, PageSize: dc.PageSize}
		q.Filter.NamePattern = pattern
		got, err := DiscoverAll(t, ctx, d, q, 2*dc.Total/dc.PageSize+10)
		r.note(in.Secrets, errText(err))
		for _, res := range got.Resources {
			b, _ := json.Marshal(res)
			r.note(in.Secrets, string(b))
		}
		if err != nil {
			t.Fatalf("discover %s (pattern %q): %v", rt, pattern, err)
		}
		for _, n := range got.PageSizes {
			if n > dc.PageSize && dc.Unpaged == "" {
				t.Errorf("a page of %d items, more than the %d asked for", n, dc.PageSize)
			}
		}
		if pattern == "" && len(got.PageSizes) < 2 && dc.Unpaged == "" {
			t.Errorf("%d resources came in one page of size %d: the walk did not page", len(got.Resources), dc.PageSize)
		}
		return got.Resources
	}
	all := walk("")
	keys := map[string]bool{}
	for _, res := range all {
		k := resourceKey(res)
		if keys[k] {
			t.Errorf("resource %s listed twice", k)
		}
		keys[k] = true
		if res.Type != rt {
			t.Errorf("resource %s has type %q, want %q", k, res.Type, rt)
		}
	}
	if len(all) != dc.Total {
		t.Errorf("discovered %d %s, the server holds %d", len(all), rt, dc.Total)
	}
	filtered := walk(dc.NamePattern)
	if len(filtered) != dc.Matching {
		t.Errorf("pattern %q selected %d %s, want %d", dc.NamePattern, len(filtered), rt, dc.Matching)
	}
	for _, res := range filtered {
		if !keys[resourceKey(res)] {
			t.Errorf("pattern %q selected %s, which the unfiltered listing does not hold", dc.NamePattern, resourceKey(res))
		}
	}
}

func (r *conformance) noSecret(t *testing.T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var forms []string
	for _, s := range r.secrets {
		for _, f := range SecretForms(s) {
			if len(f) >= credentials.ScrubMinLen && !strings.HasPrefix(f, "LeakCore") {
				forms = append(forms, f)
			}
		}
	}
	if len(r.texts) == 0 {
		t.Fatal("the suite saw no text to check")
	}
	for _, text := range r.texts {
		for _, f := range forms {
			if strings.Contains(text, f) {
				t.Errorf("secret form %q left in %q", f, text)
			}
		}
	}
}

// level runs one check level.
func level(ctx context.Context, c connectors.Checker, l contracts.CheckType) error {
	return Level(l, c)(ctx)
}

// Level is c's health check of level l (a check of an unknown level
// answers NotSupported), for tables that name the level they check.
func Level(l contracts.CheckType, c connectors.Checker) func(context.Context) error {
	switch l {
	case contracts.CheckConnectivity:
		return c.CheckConnectivity
	case contracts.CheckAuthentication:
		return c.CheckAuthentication
	case contracts.CheckFunctionality:
		return c.CheckFunctionality
	}
	return func(context.Context) error { return resilience.New(resilience.NotSupported, "check level %q", l) }
}

// closedPort returns the URL of a loopback port nothing listens on.
func closedPort(t *testing.T) *url.URL {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return &url.URL{Scheme: "http", Host: addr}
}

// silentServer listens on loopback, accepts connections and never answers
// (a hung server); accepted counts them.
func silentServer(t *testing.T) (*url.URL, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := &atomic.Int64{}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return &url.URL{Scheme: "http", Host: ln.Addr().String()}, accepted
}

func resourceKey(r contracts.Resource) string {
	if r.ID != "" {
		return r.Type + "/" + r.ID
	}
	return r.Type + "/" + r.Name
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func codes(cs []resilience.Code) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		if c == "" {
			out[i] = "success"
		} else {
			out[i] = string(c)
		}
	}
	return strings.Join(out, " or ")
}

// HostPort splits a base URL into host and port, for providers configured
// by host and port (SMTP).
func HostPort(base *url.URL) (string, int) {
	port, _ := strconv.Atoi(base.Port())
	return base.Hostname(), port
}

// Throttle fronts a real server (which cannot be told to refuse with 429)
// with a reverse proxy: until Limit is called it passes every request
// through, afterwards it answers each with the provider's rate-limit
// answer, written by limited.
type Throttle struct {
	// URL is the proxy's base URL.
	URL     string
	limited atomic.Bool
}

// StartThrottle starts a Throttle in front of target, stopped with the test.
func StartThrottle(t testing.TB, target string, limited http.HandlerFunc) *Throttle {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	th := &Throttle{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if th.limited.Load() {
			limited(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	th.URL = srv.URL
	return th
}

// Limit makes every following request rate limited.
func (th *Throttle) Limit() { th.limited.Store(true) }
