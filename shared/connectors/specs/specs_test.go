package specs_test

import (
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/specs"
)

// TestEveryDeclarationIsComplete: the registry accepts every declaration
// (Spec.CheckDeclaration: defaults of the right type that pass their own
// rules, patterns described, examples valid), and each documents what its
// check levels do and how to configure it.
func TestEveryDeclarationIsComplete(t *testing.T) {
	t.Parallel()
	reg := specs.Registry()
	if len(reg.Specs()) != len(specs.List()) {
		t.Fatalf("registry holds %d of %d declarations", len(reg.Specs()), len(specs.List()))
	}
	for _, s := range specs.List() {
		t.Run(s.ID, func(t *testing.T) {
			t.Parallel()
			if err := s.CheckDeclaration(); err != nil {
				t.Error(err)
			}
			for _, l := range s.CheckLevels {
				if s.CheckDescriptions[l] == "" {
					t.Errorf("check level %s has no description", l)
				}
			}
			if s.Example.Config == nil {
				t.Error("no example config")
			}
			if s.CredentialRequired && s.Example.CredentialRef == "" {
				t.Error("the credential is required but the example has no credentialRef")
			}
		})
	}
}
