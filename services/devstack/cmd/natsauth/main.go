// Command natsauth writes deployments/nats/auth.conf: the NATS users of
// the hub's services, each with the permissions its declarations derive
// (devstack.AuthConf). Run by go generate in services/devstack.
package main

import (
	"fmt"
	"os"

	"github.com/stella-ops/inthub/services/devstack"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: natsauth <output file>")
		os.Exit(2)
	}
	if err := os.WriteFile(os.Args[1], devstack.AuthConf(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "natsauth:", err)
		os.Exit(1)
	}
}
