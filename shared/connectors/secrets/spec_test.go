package secrets_test

import (
	"testing"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/all"
	"github.com/stella-ops/inthub/shared/connectors/secrets/awssm"
	"github.com/stella-ops/inthub/shared/connectors/secrets/azurekv"
	"github.com/stella-ops/inthub/shared/connectors/secrets/gcpsm"
	"github.com/stella-ops/inthub/shared/connectors/secrets/vault"
)

// TestSpecs: the four secret stores are registered, in their category, read
// secrets, and accept the documented configuration examples.
func TestSpecs(t *testing.T) {
	t.Parallel()
	reg := all.Registry()
	tests := []struct {
		spec   *connectors.Spec
		config map[string]any
	}{
		{vault.Spec, map[string]any{"url": "https://vault.example.com", "namespace": "team-a", "mountPath": "secret", "authMethod": "approle",
			"roleId": "r", "secretIdRef": "env://VAULT_SECRET_ID", "kvVersion": "2", "canaryPath": "inthub/canary"}},
		{awssm.Spec, map[string]any{"region": "eu-west-1", "authMethod": "assumeRole", "roleArn": "arn:aws:iam::123456789012:role/hub"}},
		{azurekv.Spec, map[string]any{"url": "https://myvault.vault.azure.net", "tenantId": "0f1e2d3c-aaaa-bbbb-cccc-000000000001", "clientId": "c"}},
		{gcpsm.Spec, map[string]any{"project": "my-project", "canarySecret": "inthub-canary"}},
	}
	for _, tc := range tests {
		t.Run(tc.spec.ID, func(t *testing.T) {
			got, ok := reg.Lookup(tc.spec.ID)
			if !ok || got != tc.spec {
				t.Fatalf("%s is not registered in connectors/all", tc.spec.ID)
			}
			if tc.spec.Category != connectors.CategorySecretStore || tc.spec.New == nil {
				t.Fatalf("%s: category %s", tc.spec.ID, tc.spec.Category)
			}
			caps := map[connectors.Capability]bool{}
			for _, c := range tc.spec.Capabilities {
				caps[c] = true
			}
			if !caps[connectors.CapReadSecret] || !caps[connectors.CapCheck] || len(tc.spec.CheckLevels) != 3 {
				t.Fatalf("%s: capabilities %v, levels %v", tc.spec.ID, tc.spec.Capabilities, tc.spec.CheckLevels)
			}
			if err := tc.spec.ValidateConfig(tc.config); err != nil {
				t.Fatalf("%s refuses its example: %v", tc.spec.ID, err)
			}
			if err := tc.spec.ValidateConfig(map[string]any{"secretIdRef": "hunter2"}); err == nil {
				t.Fatalf("%s accepts a literal or unknown field", tc.spec.ID)
			}
		})
	}
}
