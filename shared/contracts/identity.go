package contracts

import "time"

// Identity kinds: a static API token of the ingress's list, or a JWT of
// the configured OpenID Connect issuer.
const (
	IdentityToken = "token"
	IdentityOIDC  = "oidc"
)

// Identity is who the caller of the API is, as GET /api/v1/whoami answers:
// what the ingress made of the bearer token, never the token.
type Identity struct {
	// Kind is IdentityToken or IdentityOIDC.
	Kind string `json:"kind"`
	// Name is the static token's name, or the OIDC token's subject.
	Name string `json:"name"`
	// Subject and Issuer are an OIDC token's sub and iss.
	Subject string `json:"subject,omitempty"`
	Issuer  string `json:"issuer,omitempty"`
	// TenantID is the tenant whose integrations the caller sees.
	TenantID string `json:"tenantId"`
	// Roles are the hub's roles the caller holds ("operator"); empty for a
	// tenant's user.
	Roles []string `json:"roles"`
	// ExpiresAt is when an OIDC token stops being accepted.
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}
