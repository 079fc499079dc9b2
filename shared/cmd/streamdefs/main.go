// Command streamdefs prints the hub's JetStream stream definitions as JSON
// (the same configs bus.EnsureStreams applies), for operators who manage
// streams with the nats CLI: `nats stream add --config <file>`.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/stella-ops/inthub/shared/bus"
)

func main() {
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(bus.StreamConfigs(bus.DefaultConfig())); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
