package bus_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stella-ops/inthub/shared/bus"
)

// TestDeploymentStreamDefinitionsAreCurrent keeps deployments/nats/streams.json
// equal to what EnsureStreams applies (regenerate with
// `go run ./shared/cmd/streamdefs > deployments/nats/streams.json`).
func TestDeploymentStreamDefinitionsAreCurrent(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../deployments/nats/streams.json")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(bus.StreamConfigs(bus.DefaultConfig()))
	var a, b any
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(want, &b)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatal("deployments/nats/streams.json is stale; regenerate it with go run ./shared/cmd/streamdefs")
	}
}
