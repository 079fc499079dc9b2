package cli

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// versionInfo is what `stella version` reports.
type versionInfo struct {
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

func (a *app) newVersionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Show stella's version",
		Example: "  stella version\n  stella version -o json",
		Args:    a.noArgs,
	}
	cmd.RunE = a.action(func(*cobra.Command, []string) error {
		v := versionInfo{Version: Version, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					v.Revision = s.Value
				}
			}
		}
		return a.emitValue(v, func(w io.Writer) {
			fmt.Fprintf(w, "stella %s", v.Version)
			if v.Revision != "" {
				fmt.Fprintf(w, " (%s)", v.Revision)
			}
			fmt.Fprintf(w, " %s %s\n", v.Go, v.Platform)
		})
	})
	return cmd
}
