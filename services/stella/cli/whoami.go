package cli

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stella-ops/inthub/shared/contracts"
)

func (a *app) newWhoamiCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Show who the token stands for: its name or subject, tenant and roles",
		Long: `Shows what the hub makes of the token stella sends (GET /api/v1/whoami):
a static token's name, or an OIDC token's subject and issuer, with the tenant
whose integrations it sees and the hub's roles it holds. The token itself is
never printed. Exit code 4 when the hub refuses the token.`,
		Example: "  stella whoami\n  STELLA_TOKEN=$(cat id-token.jwt) stella whoami -o json",
		Args:    a.noArgs,
	}
	cmd.RunE = a.action(func(cmd *cobra.Command, _ []string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		var id contracts.Identity
		resp, err := c.doJSON(cmd.Context(), request{method: http.MethodGet, path: "/api/v1/whoami"}, &id)
		if err != nil {
			return err
		}
		return a.emit(resp.body, func(w io.Writer) {
			roles := strings.Join(id.Roles, ",")
			if roles == "" {
				roles = "-"
			}
			fmt.Fprintf(w, "NAME\t%s\n", id.Name)
			fmt.Fprintf(w, "KIND\t%s\n", id.Kind)
			fmt.Fprintf(w, "TENANT\t%s\n", id.TenantID)
			fmt.Fprintf(w, "ROLES\t%s\n", roles)
			if id.Issuer != "" {
				fmt.Fprintf(w, "ISSUER\t%s\n", id.Issuer)
			}
			if id.ExpiresAt != nil {
				fmt.Fprintf(w, "EXPIRES\t%s\n", id.ExpiresAt.Format(time.RFC3339))
			}
		})
	})
	return cmd
}
