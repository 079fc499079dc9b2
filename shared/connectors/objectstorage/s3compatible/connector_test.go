package s3compatible

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// requestCounter is an httpx.Metrics counting the requests the connector
// sent, so tests can assert "called once".
type requestCounter struct{ n atomic.Int64 }

func (c *requestCounter) ObserveRequest(string, string, time.Duration) { c.n.Add(1) }

// envSource resolves env:// references from vars, never the process's
// environment, so parallel tests do not interfere.
type envSource map[string]string

func (e envSource) Resolve(ctx context.Context, raw string) (credentials.Secret, error) {
	return testsvc.EnvCredentials(e).Resolve(ctx, raw)
}

// setup is what one connector under test is built from.
type setup struct {
	config        map[string]any
	credentialRef string
	env           envSource
	policy        *httpx.GuardPolicy // nil: loopback allowed
}

// newConnector builds the connector as the runtime does and returns it with
// the counter of its HTTP requests.
func newConnector(t *testing.T, s setup) (*Connector, *requestCounter) {
	t.Helper()
	if err := Spec.ValidateConfig(s.config); err != nil {
		t.Fatalf("config refused by the spec: %v", err)
	}
	policy := httpx.GuardPolicy{AllowPrivate: true}
	if s.policy != nil {
		policy = *s.policy
	}
	opts := connectors.HTTPOptions(connectors.NewValues(Spec, s.config), policy, nil)
	counter := &requestCounter{}
	opts.Metrics = counter
	hc, err := httpx.New(opts)
	if err != nil {
		t.Fatalf("httpx.New: %v", err)
	}
	t.Cleanup(hc.CloseIdleConnections)
	c, err := Spec.New(context.Background(), connectors.Instance{
		Integration: contracts.Integration{ID: "int-1", TypeID: Spec.ID, Config: s.config, CredentialRef: s.credentialRef},
		Credentials: s.env,
		HTTP:        hc,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*Connector), counter
}

// keysEnv holds g's root keys as a JSON secret under S3_KEYS.
func keysEnv(g *gateway) envSource {
	b, _ := json.Marshal(map[string]string{"accessKeyId": g.AccessKey, "secretAccessKey": g.SecretKey})
	return envSource{"S3_KEYS": string(b)}
}

type check struct {
	level contracts.CheckType
	run   func(*Connector, context.Context) error
}

var checks = []check{
	{contracts.CheckConnectivity, (*Connector).CheckConnectivity},
	{contracts.CheckAuthentication, (*Connector).CheckAuthentication},
	{contracts.CheckFunctionality, (*Connector).CheckFunctionality},
}

func wantCode(t *testing.T, what string, err error, want resilience.Code) {
	t.Helper()
	if got := resilience.CodeOf(err); got != want {
		t.Fatalf("%s: code %q (err %v), want %s", what, got, err, want)
	}
}

func TestChecksPassAgainstS3Server(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	bucket := g.createBucket(t)
	basic, _ := json.Marshal(map[string]string{"username": g.AccessKey, "password": g.SecretKey})
	tests := []struct {
		name string
		s    setup
	}{
		{"access keys, bucket", setup{config: map[string]any{"url": g.URL, "bucket": bucket}, credentialRef: "env://S3_KEYS", env: keysEnv(g)}},
		{"access keys, no bucket", setup{config: map[string]any{"url": g.URL}, credentialRef: "env://S3_KEYS", env: keysEnv(g)}},
		{"basic credential", setup{config: map[string]any{"url": g.URL + "/", "bucket": bucket, "region": "us-east-1"},
			credentialRef: "env://S3_BASIC", env: envSource{"S3_BASIC": string(basic)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _ := newConnector(t, tc.s)
			for _, ch := range checks {
				if err := ch.run(c, context.Background()); err != nil {
					t.Errorf("%s: %v", ch.level, err)
				}
			}
		})
	}
}

func TestWrongSecretIsAuthenticationFailed(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	bucket := g.createBucket(t)
	wrong, _ := json.Marshal(map[string]string{"accessKeyId": g.AccessKey, "secretAccessKey": g.SecretKey + "x"})
	unknown, _ := json.Marshal(map[string]string{"accessKeyId": "AKIAUNKNOWN", "secretAccessKey": g.SecretKey})
	for _, tc := range []struct{ name, secret string }{
		{"wrong secret (SignatureDoesNotMatch)", string(wrong)},
		{"unknown access key", string(unknown)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, sent := newConnector(t, setup{
				config:        map[string]any{"url": g.URL, "bucket": bucket},
				credentialRef: "env://S3_KEYS", env: envSource{"S3_KEYS": tc.secret},
			})
			err := c.CheckAuthentication(context.Background())
			wantCode(t, "authentication", err, resilience.AuthenticationFailed)
			if n := sent.n.Load(); n != 1 {
				t.Errorf("authentication sent %d requests, want 1 (no retry inside the connector)", n)
			}
			if s := resilience.StrategyFor(resilience.CodeOf(err)); s != resilience.NoRetry {
				t.Errorf("strategy %s, want no-retry", s)
			}
			if strings.Contains(err.Error(), g.SecretKey) {
				t.Errorf("error text carries the secret: %v", err)
			}
			// HeadBucket's bare 403/404 is resolved through a listing.
			wantCode(t, "functionality", c.CheckFunctionality(context.Background()), resilience.AuthenticationFailed)
			if err := c.CheckConnectivity(context.Background()); err != nil {
				t.Errorf("connectivity: %v", err)
			}
		})
	}
}

func TestStoppedServerIsConnectionRefused(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	bucket := g.createBucket(t)
	c, _ := newConnector(t, setup{config: map[string]any{"url": g.URL, "bucket": bucket, "writeProbe": true},
		credentialRef: "env://S3_KEYS", env: keysEnv(g)})
	if err := c.CheckFunctionality(context.Background()); err != nil {
		t.Fatalf("functionality before the stop: %v", err)
	}
	g.Stop(t)
	for _, ch := range checks {
		wantCode(t, string(ch.level), ch.run(c, context.Background()), resilience.ConnectionRefused)
	}
}

func TestMissingBucketIsResourceNotFound(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	c, _ := newConnector(t, setup{config: map[string]any{"url": g.URL, "bucket": "no-such-bucket-here"},
		credentialRef: "env://S3_KEYS", env: keysEnv(g)})
	if err := c.CheckAuthentication(context.Background()); err != nil {
		t.Fatalf("authentication: %v", err)
	}
	err := c.CheckFunctionality(context.Background())
	wantCode(t, "functionality", err, resilience.ResourceNotFound)
	if !strings.Contains(err.Error(), "no-such-bucket-here") {
		t.Errorf("error does not name the bucket: %v", err)
	}
}

func TestWriteProbeRoundTrip(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	bucket := g.createBucket(t)
	c, sent := newConnector(t, setup{config: map[string]any{"url": g.URL, "bucket": bucket, "writeProbe": true},
		credentialRef: "env://S3_KEYS", env: keysEnv(g)})
	if err := c.CheckFunctionality(context.Background()); err != nil {
		t.Fatalf("functionality: %v", err)
	}
	if n := sent.n.Load(); n != 4 {
		t.Errorf("sent %d requests, want 4 (head, put, get, delete)", n)
	}
	out, err := g.admin().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("list objects: %v", err)
	}
	if len(out.Contents) != 0 {
		t.Errorf("the probe left %d objects, first %q", len(out.Contents), aws.ToString(out.Contents[0].Key))
	}
}

func TestAnonymousAccessToPrivateBucket(t *testing.T) {
	t.Parallel()
	// No credentialRef: unsigned requests, which a private bucket refuses.
	g := startGateway(t)
	bucket := g.createBucket(t)
	c, _ := newConnector(t, setup{config: map[string]any{"url": g.URL, "bucket": bucket, "writeProbe": true}})
	if err := c.CheckAuthentication(context.Background()); err != nil {
		t.Fatalf("authentication without a credentialRef: %v", err)
	}
	wantCode(t, "functionality", c.CheckFunctionality(context.Background()), resilience.PermissionDenied)
}

func TestGuardBlocksLoopbackByDefault(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	c, sent := newConnector(t, setup{config: map[string]any{"url": g.URL, "bucket": "any"},
		credentialRef: "env://S3_KEYS", env: keysEnv(g), policy: &httpx.GuardPolicy{}})
	for _, ch := range checks {
		wantCode(t, string(ch.level), ch.run(c, context.Background()), resilience.DestinationBlocked)
	}
	if n := sent.n.Load(); n != 3 {
		t.Errorf("%d requests attempted, want 3 (one per check, all refused)", n)
	}
}

// An endpoint in a special-purpose range is refused through the SDK too,
// as DESTINATION_BLOCKED, which is never retried.
func TestGuardBlocksSpecialPurposeEndpoints(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	for _, host := range []string{"169.254.169.254", "198.51.100.7", "198.18.0.1"} {
		t.Run(host, func(t *testing.T) {
			t.Parallel()
			c, _ := newConnector(t, setup{config: map[string]any{"url": "https://" + host, "bucket": "any"},
				credentialRef: "env://S3_KEYS", env: keysEnv(g), policy: &httpx.GuardPolicy{}})
			for _, ch := range checks {
				err := ch.run(c, context.Background())
				wantCode(t, string(ch.level), err, resilience.DestinationBlocked)
				if !strings.Contains(err.Error(), host) {
					t.Errorf("%s: error %q does not name %s", ch.level, err, host)
				}
				if s := resilience.StrategyFor(resilience.CodeOf(err)); s != resilience.NoRetry {
					t.Errorf("%s: retry strategy %s, want no-retry", ch.level, s)
				}
			}
		})
	}
}

func TestCredentialProblems(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	tests := []struct {
		name string
		ref  string
		env  envSource
		want resilience.Code
	}{
		{"variable not set", "env://S3_KEYS", envSource{}, resilience.CredentialFetchFailed},
		{"reference the source refuses", "vault://store/path#k", envSource{}, resilience.InvalidConfig},
		{"wrong shape", "env://S3_KEYS", envSource{"S3_KEYS": `{"token":"abc"}`}, resilience.InvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, sent := newConnector(t, setup{config: map[string]any{"url": g.URL}, credentialRef: tc.ref, env: tc.env})
			wantCode(t, "authentication", c.CheckAuthentication(context.Background()), tc.want)
			wantCode(t, "functionality", c.CheckFunctionality(context.Background()), tc.want)
			if n := sent.n.Load(); n != 0 {
				t.Errorf("sent %d requests without credentials, want 0", n)
			}
		})
	}
}

func TestNewRefusesConfigThatCannotWork(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  map[string]any
	}{
		{"writeProbe without bucket", map[string]any{"url": "http://s3.example.com", "writeProbe": true}},
		{"no url", map[string]any{}},
		{"query in url", map[string]any{"url": "http://s3.example.com/?x=1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(context.Background(), connectors.Instance{Integration: contracts.Integration{Config: tc.cfg}, HTTP: connectortest.HTTP(t, nil, nil)})
			wantCode(t, "New", err, resilience.InvalidConfig)
		})
	}
}

func TestSpecMatchesTheCatalog(t *testing.T) {
	t.Parallel()
	// stella config integrations create --name local-minio --type objectstorage
	//   --provider s3compatible --endpoint http://minio.stella-ops.local:9000
	if err := Spec.ValidateConfig(map[string]any{"url": "http://minio.stella-ops.local:9000"}); err != nil {
		t.Errorf("the CLI example's config: %v", err)
	}
	info := Spec.Info()
	if info.ID != "s3compatible" || info.Category != string(connectors.CategoryObjectStorage) || info.SupportsDiscovery ||
		len(info.SupportedResourceTypes) != 0 || info.IsTestOnly {
		t.Errorf("provider entry %+v", info)
	}
}

// s3ErrorServer answers every request with one S3 error document, as a
// server under load or misconfigured would.
func s3ErrorServer(t *testing.T, status int, code string, header http.Header) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		for k, v := range header {
			w.Header()[k] = v
		}
		if code == "" {
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>test answer</Message><RequestId>r1</RequestId></Error>`, code)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestS3ErrorAnswersAreClassified(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		code       string
		header     http.Header
		want       resilience.Code
		retryAfter time.Duration
	}{
		{"SlowDown with Retry-After", 503, "SlowDown", http.Header{"Retry-After": {"7"}}, resilience.RateLimited, 7 * time.Second},
		{"SlowDown without Retry-After", 503, "SlowDown", nil, resilience.RateLimited, 0},
		{"bare 429", 429, "", http.Header{"Retry-After": {"3"}}, resilience.RateLimited, 3 * time.Second},
		{"InvalidAccessKeyId", 403, "InvalidAccessKeyId", nil, resilience.AuthenticationFailed, 0},
		{"SignatureDoesNotMatch", 403, "SignatureDoesNotMatch", nil, resilience.AuthenticationFailed, 0},
		{"ExpiredToken", 400, "ExpiredToken", nil, resilience.AuthenticationFailed, 0},
		{"RequestTimeTooSkewed", 403, "RequestTimeTooSkewed", nil, resilience.AuthenticationFailed, 0},
		{"AccessDenied", 403, "AccessDenied", nil, resilience.PermissionDenied, 0},
		{"AuthorizationHeaderMalformed (region)", 400, "AuthorizationHeaderMalformed", nil, resilience.InvalidConfig, 0},
		{"InternalError", 500, "InternalError", nil, resilience.UpstreamError, 0},
		{"HTML from a proxy", 502, "", nil, resilience.UpstreamError, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := s3ErrorServer(t, tc.status, tc.code, tc.header)
			c, sent := newConnector(t, setup{config: map[string]any{"url": srv.URL},
				credentialRef: "env://S3_KEYS", env: envSource{"S3_KEYS": `{"accessKeyId":"AK","secretAccessKey":"SK"}`}})
			err := c.CheckAuthentication(context.Background())
			wantCode(t, "authentication", err, tc.want)
			if got := resilience.RetryAfterOf(err); got != tc.retryAfter {
				t.Errorf("retry after %s, want %s", got, tc.retryAfter)
			}
			if n := sent.n.Load(); n != 1 {
				t.Errorf("sent %d requests, want 1: the SDK must not retry on its own", n)
			}
		})
	}
}
