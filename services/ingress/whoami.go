package ingress

import (
	"net/http"

	"github.com/stella-ops/inthub/shared/contracts"
)

// whoami answers who the bearer token stands for (GET /api/v1/whoami).
func (s *server) whoami(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, identityOf(principalOf(r.Context())))
}

// identityOf is a principal as the API shows it: never the token.
func identityOf(p Principal) contracts.Identity {
	id := contracts.Identity{Kind: contracts.IdentityToken, Name: p.Name, TenantID: p.TenantID, Roles: append([]string{}, p.Roles...)}
	if p.Issuer != "" {
		id.Kind, id.Subject, id.Issuer = contracts.IdentityOIDC, p.Subject, p.Issuer
		if !p.Expiry.IsZero() {
			exp := p.Expiry.UTC()
			id.ExpiresAt = &exp
		}
	}
	return id
}
