// Command stella is the Release Orchestrator's CLI; this build manages the
// Integration Hub's live catalog (stella config integrations ...).
package main

import (
	"os"

	"github.com/stella-ops/inthub/services/stella/cli"
)

func main() { os.Exit(cli.Execute()) }
