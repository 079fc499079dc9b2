package awssm

import (
	"context"
	"maps"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/testsvc"
)

const (
	keyID     = "AKIAHUBTESTKEY00001"
	keySecret = "LEAK-aws-secret-access-key-5e1f"
	value     = "LEAK-stored-secret-value-77ab"
)

func keysJSON(id, secret string) string {
	return `{"accessKeyId":"` + id + `","secretAccessKey":"` + secret + `"}`
}

func newTestConnector(t *testing.T, f *fakeAWS, config map[string]any, creds string) *Connector {
	t.Helper()
	return newGuardedConnector(t, f, httpx.GuardPolicy{AllowPrivate: true}, config, creds)
}

// newGuardedConnector is newTestConnector under the given outbound policy.
func newGuardedConnector(t *testing.T, f *fakeAWS, policy httpx.GuardPolicy, config map[string]any, creds string) *Connector {
	t.Helper()
	cfg := map[string]any{"region": f.region, "url": f.srv.URL, "timeout": float64(5)}
	maps.Copy(cfg, config)
	if err := Spec.ValidateConfig(cfg); err != nil {
		t.Fatalf("config refused: %v", err)
	}
	hc, err := httpx.New(connectors.HTTPOptions(connectors.NewValues(Spec, cfg), policy, nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hc.CloseIdleConnections)
	env := map[string]string{}
	if creds != "" {
		env["AWS_KEYS"] = creds
	}
	conn, err := New(context.Background(), connectors.Instance{
		Integration: contracts.Integration{ID: "aws-1", TenantID: "t", TypeID: ProviderID, Config: cfg, CredentialRef: "env://AWS_KEYS"},
		Credentials: testsvc.EnvCredentials(env), HTTP: hc,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn.(*Connector)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func checkCode(t *testing.T, err error, want resilience.Code) {
	t.Helper()
	if got := resilience.CodeOf(err); got != want {
		t.Fatalf("error %v has code %q, want %q", err, got, want)
	}
	if err != nil && (strings.Contains(err.Error(), keySecret) || strings.Contains(err.Error(), value)) {
		t.Fatalf("error text holds a secret: %v", err)
	}
}

func TestReadSecret(t *testing.T) {
	t.Parallel()
	f := startAWS(t)
	f.addKey(keyID, keySecret)
	f.addKey("AKIALIMITEDKEY00002", keySecret, "app/")
	f.put("docker/registry", `{"username":"alice","password":"`+value+`"}`)
	old := f.put("ci/token", "old-"+value)
	cur := f.put("ci/token", value)
	f.put("gone", value)
	f.secrets["gone"].deleted = true
	tests := []struct {
		name    string
		config  map[string]any
		creds   string
		path    string
		want    map[string]string
		version string
		code    resilience.Code
		prepare func()
	}{
		{name: "json secret", path: "docker/registry", want: map[string]string{"username": "alice", "password": value}},
		{name: "plain secret, current", path: "ci/token", want: map[string]string{"value": value}, version: cur},
		{name: "previous version by label", config: map[string]any{"versionStage": "AWSPREVIOUS"}, path: "ci/token",
			want: map[string]string{"value": "old-" + value}, version: old},
		{name: "unknown label", config: map[string]any{"versionStage": "NOPE"}, path: "ci/token", code: resilience.ResourceNotFound},
		{name: "missing", path: "nope", code: resilience.ResourceNotFound},
		{name: "marked for deletion", path: "gone", code: resilience.ResourceNotFound},
		{name: "access denied", creds: keysJSON("AKIALIMITEDKEY00002", keySecret), path: "ci/token", code: resilience.PermissionDenied},
		{name: "wrong secret key", creds: keysJSON(keyID, "wrong-"+keySecret), path: "ci/token", code: resilience.AuthenticationFailed},
		{name: "unknown key", creds: keysJSON("AKIAUNKNOWNKEY00009", keySecret), path: "ci/token", code: resilience.AuthenticationFailed},
		{name: "keys of the wrong shape", creds: `{"token":"x"}`, path: "ci/token", code: resilience.InvalidConfig},
		{name: "keys unset", creds: "-", path: "ci/token", code: resilience.CredentialFetchFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			creds := tc.creds
			switch creds {
			case "":
				creds = keysJSON(keyID, keySecret)
			case "-":
				creds = ""
			}
			c := newTestConnector(t, f, tc.config, creds)
			got, err := c.ReadSecretLease(ctxT(t), tc.path)
			checkCode(t, err, tc.code)
			if tc.code != "" {
				t.Log(err)
				return
			}
			if !maps.Equal(got.Data, tc.want) || (tc.version != "" && got.Version != tc.version) {
				t.Fatalf("read %v (version %s), want %v (%s)", got.Data, got.Version, tc.want, tc.version)
			}
		})
	}
}

func TestThrottled(t *testing.T) {
	t.Parallel()
	f := startAWS(t)
	f.addKey(keyID, keySecret)
	f.put("ci/token", value)
	f.throttle = 1
	c := newTestConnector(t, f, nil, keysJSON(keyID, keySecret))
	_, err := c.ReadSecret(ctxT(t), "ci/token")
	checkCode(t, err, resilience.RateLimited)
	if _, err := c.ReadSecret(ctxT(t), "ci/token"); err != nil {
		t.Fatalf("after the throttle: %v", err)
	}
}

func TestChecks(t *testing.T) {
	t.Parallel()
	f := startAWS(t)
	f.addKey(keyID, keySecret)
	f.addKey("AKIALIMITEDKEY00002", keySecret, "app/")
	f.put("app/canary", "ok")
	f.put("other", "x")
	down := startAWS(t)
	down.srv.Close()
	tests := []struct {
		name   string
		fake   *fakeAWS
		config map[string]any
		creds  string
		level  contracts.CheckType
		code   resilience.Code
	}{
		{name: "connectivity", level: contracts.CheckConnectivity},
		{name: "connectivity down", fake: down, level: contracts.CheckConnectivity, code: resilience.ConnectionRefused},
		{name: "authentication", level: contracts.CheckAuthentication},
		{name: "authentication of a key that may not list", creds: keysJSON("AKIALIMITEDKEY00002", keySecret), level: contracts.CheckAuthentication},
		{name: "authentication wrong key", creds: keysJSON(keyID, "nope"), level: contracts.CheckAuthentication, code: resilience.AuthenticationFailed},
		{name: "functionality lists", level: contracts.CheckFunctionality},
		{name: "functionality canary", creds: keysJSON("AKIALIMITEDKEY00002", keySecret), config: map[string]any{"canarySecret": "app/canary"},
			level: contracts.CheckFunctionality},
		{name: "functionality may not list", creds: keysJSON("AKIALIMITEDKEY00002", keySecret), level: contracts.CheckFunctionality,
			code: resilience.PermissionDenied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := tc.fake
			if fake == nil {
				fake = f
			}
			creds := tc.creds
			if creds == "" {
				creds = keysJSON(keyID, keySecret)
			}
			c := newTestConnector(t, fake, tc.config, creds)
			var err error
			switch tc.level {
			case contracts.CheckConnectivity:
				err = c.CheckConnectivity(ctxT(t))
			case contracts.CheckAuthentication:
				err = c.CheckAuthentication(ctxT(t))
			default:
				err = c.CheckFunctionality(ctxT(t))
			}
			checkCode(t, err, tc.code)
		})
	}
}

func TestAssumeRole(t *testing.T) {
	t.Parallel()
	f := startAWS(t)
	f.addKey(keyID, keySecret, "none/") // the base key itself may read nothing
	f.roles["arn:aws:iam::123456789012:role/hub-reader"] = "ext-1"
	f.put("ci/token", value)
	base := map[string]any{"authMethod": "assumeRole", "roleArn": "arn:aws:iam::123456789012:role/hub-reader", "stsUrl": f.srv.URL}

	t.Run("reads with the role's temporary credentials, assuming once", func(t *testing.T) {
		cfg := maps.Clone(base)
		cfg["externalId"] = "ext-1"
		c := newTestConnector(t, f, cfg, keysJSON(keyID, keySecret))
		for range 3 {
			got, err := c.ReadSecret(ctxT(t), "ci/token")
			if err != nil || got["value"] != value {
				t.Fatalf("read: %v", err)
			}
		}
		if n := f.count("AssumeRole"); n != 1 {
			t.Fatalf("%d AssumeRole calls, want 1 (credentials cached until they expire)", n)
		}
	})
	t.Run("wrong external id", func(t *testing.T) {
		cfg := maps.Clone(base)
		cfg["externalId"] = "wrong"
		c := newTestConnector(t, f, cfg, keysJSON(keyID, keySecret))
		_, err := c.ReadSecret(ctxT(t), "ci/token")
		checkCode(t, err, resilience.PermissionDenied)
		t.Log(err)
	})
	t.Run("wrong base key", func(t *testing.T) {
		cfg := maps.Clone(base)
		cfg["externalId"] = "ext-1"
		c := newTestConnector(t, f, cfg, keysJSON(keyID, "wrong"))
		_, err := c.ReadSecret(ctxT(t), "ci/token")
		checkCode(t, err, resilience.AuthenticationFailed)
		t.Log(err)
	})
}

func TestConfigRefused(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		cfg map[string]any
		ref string
	}{
		"keys from a store": {map[string]any{"region": "eu-west-1"}, "vault://vault-1/aws#keys"},
		"no ref":            {map[string]any{"region": "eu-west-1"}, ""},
		"bad region":        {map[string]any{"region": "eu/west"}, "env://K"},
		"role without arn":  {map[string]any{"region": "eu-west-1", "authMethod": "assumeRole"}, "env://K"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(context.Background(), connectors.Instance{Integration: contracts.Integration{Config: tc.cfg, CredentialRef: tc.ref}, HTTP: connectortest.HTTP(t, nil, nil)})
			checkCode(t, err, resilience.InvalidConfig)
		})
	}
}

// An endpoint the outbound guard refuses (the Secrets Manager url, or the
// STS endpoint of assumeRole) is DESTINATION_BLOCKED through the AWS SDK's
// wrapping, for every check and a read, and is not retried.
func TestEndpointBlocked(t *testing.T) {
	t.Parallel()
	f := startAWS(t)
	f.addKey(keyID, keySecret)
	f.roles["arn:aws:iam::123456789012:role/hub-reader"] = ""
	f.put("ci/token", value)
	port := f.srv.URL[strings.LastIndex(f.srv.URL, ":")+1:]
	fakeOnly := httpx.GuardPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	assume := map[string]any{"authMethod": "assumeRole", "roleArn": "arn:aws:iam::123456789012:role/hub-reader"}
	tests := []struct {
		name   string
		config map[string]any
		ops    []string
		want   string
	}{
		{name: "url at cloud metadata", config: map[string]any{"url": "http://169.254.169.254"},
			ops: []string{"connectivity", "authentication", "functionality", "read"}, want: "169.254.169.254"},
		{name: "url at a documentation address", config: map[string]any{"url": "https://192.0.2.10"},
			ops: []string{"connectivity", "authentication", "functionality", "read"}, want: "192.0.2.10"},
		{name: "stsUrl at another loopback address", config: with(assume, "stsUrl", "http://127.0.0.2:"+port),
			ops: []string{"authentication", "functionality", "read"}, want: "127.0.0.2"},
		{name: "stsUrl at a benchmarking address", config: with(assume, "stsUrl", "https://198.18.0.1"),
			ops: []string{"authentication", "read"}, want: "198.18.0.1"},
	}
	for _, tc := range tests {
		for _, op := range tc.ops {
			t.Run(tc.name+" "+op, func(t *testing.T) {
				t.Parallel()
				c := newGuardedConnector(t, f, fakeOnly, tc.config, keysJSON(keyID, keySecret))
				calls := 0
				err := resilience.Do(ctxT(t), fastRetry, func(ctx context.Context) error {
					calls++
					switch op {
					case "connectivity":
						return c.CheckConnectivity(ctx)
					case "authentication":
						return c.CheckAuthentication(ctx)
					case "functionality":
						return c.CheckFunctionality(ctx)
					}
					_, err := c.ReadSecret(ctx, "ci/token")
					return err
				})
				checkCode(t, err, resilience.DestinationBlocked)
				if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "outbound policy") {
					t.Errorf("error %q does not name %s and the outbound policy", err, tc.want)
				}
				if calls != 1 {
					t.Errorf("tried %d times, want 1 (a blocked destination is not retried)", calls)
				}
			})
		}
	}
	if n := f.count("AssumeRole"); n != 0 {
		t.Errorf("the fake's STS was reached %d times", n)
	}
}

// with is a copy of m with k set to v.
func with(m map[string]any, k string, v any) map[string]any {
	out := maps.Clone(m)
	out[k] = v
	return out
}

// fastRetry retries as the hub does, without the waits.
var fastRetry = resilience.Policy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, MaxAttempts: 3, Multiplier: 1}
