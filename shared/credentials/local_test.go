package credentials

import (
	"context"
	"errors"
	"testing"

	"github.com/stella-ops/inthub/shared/resilience"
)

func TestLocalReferencesAreLimitedByOperatorPolicy(t *testing.T) {
	t.Parallel()
	l := LocalResolver{
		EnvPrefix: "INTHUB_SECRET_", FileDir: "/run/inthub",
		LookupEnv: func(k string) (string, bool) { return "value-of-" + k, true },
		ReadFile:  func(p string) ([]byte, error) { return []byte(`{"password":"p"}`), nil },
	}
	tests := []struct {
		name string
		ref  string
		ok   bool
	}{
		{"env with the prefix", "env://INTHUB_SECRET_REGISTRY", true},
		{"env without the prefix", "env://AWS_SECRET_ACCESS_KEY", false},
		{"file in the folder", "file:///run/inthub/registry.json#password", true},
		{"file outside the folder", "file:///etc/shadow", false},
		{"file escaping by prefix", "file:///run/inthub-other/x.json", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref, err := ParseRef(tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			_, err = l.Resolve(context.Background(), ref)
			if tc.ok != (err == nil) {
				t.Fatalf("got %v, want ok=%v", err, tc.ok)
			}
			var re *resilience.Error
			if err != nil && (!errors.As(err, &re) || re.Code != resilience.InvalidConfig) {
				t.Fatalf("refusal has code %v", resilience.CodeOf(err))
			}
		})
	}
}
