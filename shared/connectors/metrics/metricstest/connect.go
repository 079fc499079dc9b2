package metricstest

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// Connect builds spec's connector on cfg as the runtime does (config
// validated, the guarded client allowing loopback), with secret stored
// under the variable env its credential reference names.
func Connect(t testing.TB, spec *connectors.Spec, cfg map[string]any, env, secret string) connectors.Connector {
	t.Helper()
	if err := spec.ValidateConfig(cfg); err != nil {
		t.Fatalf("config refused: %v", err)
	}
	in := connectors.Instance{
		Integration: contracts.Integration{ID: "int-1", TenantID: "tenant-1", TypeID: spec.ID, Config: maps.Clone(cfg), CredentialRef: "env://" + env},
		Credentials: testsvc.EnvCredentials(map[string]string{env: secret}),
		HTTP:        connectortest.HTTP(t, cfg, nil),
	}
	conn, err := spec.New(context.Background(), in)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return conn
}

// MilliPoints are s's points as a fake stores them: [unix ms, value].
func MilliPoints(s Series) [][2]float64 {
	out := make([][2]float64, 0, len(s.Points))
	for _, p := range s.Points {
		out = append(out, [2]float64{float64(p.Time.UnixMilli()), p.Value})
	}
	return out
}

// The long-range tests store two versions (v1, v2) of one series, one
// point a minute over Minutes ending at T0, each minute with its own value
// (ValueAt), and check that a chunked query answers every minute once.

// ValueAt is the value of version's point i of a long range.
func ValueAt(version string, i int) float64 {
	v := float64(i%1000) / 1000
	if version == "v2" {
		v = 1 - v
	}
	return v
}

// MinutePoints are version's points over minutes ending at T0:
// minutes+1 of them, as [unix ms, value].
func MinutePoints(version string, minutes int) [][2]float64 {
	var out [][2]float64
	for i := 0; i <= minutes; i++ {
		at := T0.Add(time.Duration(i-minutes) * time.Minute)
		out = append(out, [2]float64{float64(at.UnixMilli()), ValueAt(version, i)})
	}
	return out
}

// CheckMinutes fails unless res holds the two versions' series, each with
// every minute from start, over minutes, once, in order, with its value.
func CheckMinutes(t testing.TB, res contracts.MetricsResult, start time.Time, minutes int) {
	t.Helper()
	if len(res.Series) != 2 {
		t.Fatalf("%d series, want 2", len(res.Series))
	}
	for _, s := range res.Series {
		version := s.Labels["version"]
		if len(s.Points) != minutes+1 {
			t.Fatalf("%s: %d points, want %d", version, len(s.Points), minutes+1)
		}
		for i, p := range s.Points {
			if at := start.Add(time.Duration(i) * time.Minute); !p.Time.Equal(at) || p.Value == nil || *p.Value != ValueAt(version, i) {
				t.Fatalf("%s point %d = %v at %s, want %v at %s", version, i, p.Value, p.Time, ValueAt(version, i), at)
			}
		}
	}
}
