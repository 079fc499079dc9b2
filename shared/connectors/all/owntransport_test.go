package all_test

import (
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/all"
)

// TestOwnTransportIsDeclared: the providers the runtime builds no HTTP
// client for (Spec.OwnTransport) are exactly those whose factories build
// without one.
func TestOwnTransportIsDeclared(t *testing.T) {
	t.Parallel()
	for _, spec := range all.Specs() {
		if spec.OwnTransport != ownTransport[spec.ID] {
			t.Errorf("%s: OwnTransport = %v, but its factory %s a client from the runtime",
				spec.ID, spec.OwnTransport, map[bool]string{true: "needs no", false: "needs"}[ownTransport[spec.ID]])
		}
	}
}
