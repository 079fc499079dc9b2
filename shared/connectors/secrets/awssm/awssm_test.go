package awssm

import (
	"context"
	"maps"
	"net/netip"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/secrets/secretstest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

const (
	keyID     = "AKIAHUBTESTKEY00001"
	keySecret = "LEAK-aws-secret-access-key-5e1f"
	value     = "LEAK-stored-secret-value-77ab"
)

func keysJSON(id, secret string) string {
	return `{"accessKeyId":"` + id + `","secretAccessKey":"` + secret + `"}`
}

// target builds the connector under test.
var target = secretstest.Target[*Connector]{Spec: Spec, ID: "aws-1", Env: "AWS_KEYS", New: secretstest.Typed[*Connector](New)}

func newTestConnector(t *testing.T, f *fakeAWS, config map[string]any, creds string) *Connector {
	t.Helper()
	return newGuardedConnector(t, f, httpx.GuardPolicy{AllowPrivate: true}, config, creds)
}

// newGuardedConnector is newTestConnector under the given outbound policy.
func newGuardedConnector(t *testing.T, f *fakeAWS, policy httpx.GuardPolicy, config map[string]any, creds string) *Connector {
	t.Helper()
	return secretstest.Connect(t, target, map[string]any{"region": f.region, "url": f.srv.URL, "timeout": float64(5)}, config, policy, creds)
}

// provider is the runners' view of this package's tests, on fake f.
func provider(f *fakeAWS) secretstest.Provider[*fakeAWS, *Connector] {
	return secretstest.Provider[*fakeAWS, *Connector]{
		Name: ProviderID, Fake: f, Cred: keysJSON(keyID, keySecret), Secrets: []string{keySecret, value},
		Connect: func(t *testing.T, s secretstest.Setup[*fakeAWS]) *Connector {
			return newTestConnector(t, s.Fake, s.Config, s.Cred)
		},
	}
}

func ctxT(t *testing.T) context.Context { return secretstest.Context(t) }

func checkCode(t *testing.T, err error, want resilience.Code) {
	t.Helper()
	secretstest.CheckErr(t, ProviderID, err, want, nil, keySecret, value)
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
	type setup = secretstest.Setup[*fakeAWS]
	secretstest.RunReads(t, provider(f), []secretstest.ReadCase[*fakeAWS]{
		{Name: "json secret", Path: "docker/registry", Want: map[string]string{"username": "alice", "password": value}},
		{Name: "plain secret, current", Path: "ci/token", Want: map[string]string{"value": value}, Version: cur},
		{Name: "previous version by label", Setup: setup{Config: map[string]any{"versionStage": "AWSPREVIOUS"}}, Path: "ci/token",
			Want: map[string]string{"value": "old-" + value}, Version: old},
		{Name: "unknown label", Setup: setup{Config: map[string]any{"versionStage": "NOPE"}}, Path: "ci/token", Code: resilience.ResourceNotFound},
		{Name: "missing", Path: "nope", Code: resilience.ResourceNotFound},
		{Name: "marked for deletion", Path: "gone", Code: resilience.ResourceNotFound},
		{Name: "access denied", Setup: setup{Cred: keysJSON("AKIALIMITEDKEY00002", keySecret)}, Path: "ci/token", Code: resilience.PermissionDenied},
		{Name: "wrong secret key", Setup: setup{Cred: keysJSON(keyID, "wrong-"+keySecret)}, Path: "ci/token", Code: resilience.AuthenticationFailed},
		{Name: "unknown key", Setup: setup{Cred: keysJSON("AKIAUNKNOWNKEY00009", keySecret)}, Path: "ci/token", Code: resilience.AuthenticationFailed},
		{Name: "keys of the wrong shape", Setup: setup{Cred: `{"token":"x"}`}, Path: "ci/token", Code: resilience.InvalidConfig},
		{Name: "keys unset", Setup: setup{Cred: secretstest.NoCredential}, Path: "ci/token", Code: resilience.CredentialFetchFailed},
	})
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
	type setup = secretstest.Setup[*fakeAWS]
	limited := keysJSON("AKIALIMITEDKEY00002", keySecret)
	secretstest.RunChecks(t, provider(f), []secretstest.CheckCase[*fakeAWS]{
		{Name: "connectivity", Level: contracts.CheckConnectivity},
		{Name: "connectivity down", Setup: setup{Fake: down}, Level: contracts.CheckConnectivity, Code: resilience.ConnectionRefused},
		{Name: "authentication", Level: contracts.CheckAuthentication},
		{Name: "authentication of a key that may not list", Setup: setup{Cred: limited}, Level: contracts.CheckAuthentication},
		{Name: "authentication wrong key", Setup: setup{Cred: keysJSON(keyID, "nope")}, Level: contracts.CheckAuthentication, Code: resilience.AuthenticationFailed},
		{Name: "functionality lists", Level: contracts.CheckFunctionality},
		{Name: "functionality canary", Setup: setup{Cred: limited, Config: map[string]any{"canarySecret": "app/canary"}},
			Level: contracts.CheckFunctionality},
		{Name: "functionality may not list", Setup: setup{Cred: limited}, Level: contracts.CheckFunctionality,
			Code: resilience.PermissionDenied},
	})
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
	secretstest.RunConfigRefused(t, ProviderID, func(in connectors.Instance) error {
		_, err := New(context.Background(), in)
		return err
	}, map[string]secretstest.ConfigCase{
		"keys from a store": {Config: map[string]any{"region": "eu-west-1"}, Ref: "vault://vault-1/aws#keys"},
		"no ref":            {Config: map[string]any{"region": "eu-west-1"}, Ref: ""},
		"bad region":        {Config: map[string]any{"region": "eu/west"}, Ref: "env://K"},
		"role without arn":  {Config: map[string]any{"region": "eu-west-1", "authMethod": "assumeRole"}, Ref: "env://K"},
	}, keySecret, value)
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
				secretstest.CheckBlocked(t, ProviderID, func(ctx context.Context) error {
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
				}, tc.want, keySecret, value)
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
