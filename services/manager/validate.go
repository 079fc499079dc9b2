package manager

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/labels"
	"github.com/stella-ops/inthub/shared/safetext"
)

// Limits of an integration's fields.
const (
	maxNameLen        = 200
	maxDescriptionLen = 2000
	maxLabels         = 64
)

// validTenant refuses tenant ids that are not UUIDs: they become NATS
// subject tokens and KV keys, where dots or wildcards would cross tenants.
func validTenant(id string) error {
	if _, err := uuid.Parse(id); err != nil || strings.ContainsAny(id, ".*> ") || len(id) != 36 {
		return apierr.New(http.StatusBadRequest, apierr.InvalidTenant, "tenant id must be a UUID")
	}
	return nil
}

// validID answers 404 for anything that is not one of our ids, so probing
// with odd ids learns nothing and never reaches the store's key syntax.
func validID(id string) error {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return apierr.New(http.StatusNotFound, apierr.NotFound, "integration not found")
	}
	return nil
}

// validateInput checks everything of an input against its provider's spec
// and returns that spec. typeId may be an alias; the caller stores spec.ID.
func validateInput(reg *connectors.Registry, in contracts.IntegrationInput) (*connectors.Spec, error) {
	if in.TypeID == "" {
		return nil, apierr.BadRequest(apierr.MissingRequiredField, "typeId is required").With("field", "typeId")
	}
	spec, ok := reg.Lookup(in.TypeID)
	if !ok {
		return nil, apierr.BadRequest(apierr.UnknownProvider, "provider %q is not loaded; GET /api/v1/integrations/providers lists them", truncate(in.TypeID, 64)).With("field", "typeId")
	}
	if err := validateName(in.Name); err != nil {
		return nil, err
	}
	if len(in.Description) > maxDescriptionLen {
		return nil, apierr.BadRequest(apierr.InvalidFieldValue, "description is longer than %d characters", maxDescriptionLen).With("field", "description")
	}
	if err := safetext.Field("description", in.Description, true); err != nil {
		return nil, err
	}
	if in.Config == nil {
		in.Config = map[string]any{}
	}
	if err := spec.ValidateConfig(in.Config); err != nil {
		return nil, err
	}
	if err := validateCredentialRef(spec, in.CredentialRef); err != nil {
		return nil, err
	}
	if err := validateLabels(in.Labels); err != nil {
		return nil, err
	}
	return spec, nil
}

func validateName(name string) error {
	if strings.TrimSpace(name) == "" {
		return apierr.BadRequest(apierr.MissingRequiredField, "name is required").With("field", "name")
	}
	if len([]rune(name)) > maxNameLen {
		return apierr.BadRequest(apierr.InvalidFieldValue, "name is longer than %d characters", maxNameLen).With("field", "name")
	}
	// Invalid UTF-8 reaches here as U+FFFD from the JSON decoder (the bus
	// path); safetext refuses both, and bidi and other invisible characters.
	return safetext.Field("name", name, false)
}

func validateCredentialRef(spec *connectors.Spec, ref string) error {
	if ref == "" {
		if spec.CredentialRequired {
			return apierr.BadRequest(apierr.MissingRequiredField, "provider %q needs a credentialRef", spec.ID).With("field", "credentialRef")
		}
		return nil
	}
	if len(spec.CredentialTypes) == 0 {
		return apierr.BadRequest(apierr.InvalidCredentialRef, "provider %q takes no credentials", spec.ID).With("field", "credentialRef")
	}
	if _, err := credentials.ParseRef(ref); err != nil {
		// The parser's reason never repeats the value.
		return apierr.BadRequest(apierr.InvalidCredentialRef, "credentialRef: %s", err.Error()).With("field", "credentialRef")
	}
	return nil
}

func validateLabels(set map[string]string) error {
	if len(set) > maxLabels {
		return apierr.BadRequest(apierr.InvalidLabel, "at most %d labels", maxLabels).With("field", "labels")
	}
	for k, v := range set {
		if len(k) > 253 || !labels.ValidKey(k) {
			return apierr.BadRequest(apierr.InvalidLabel, "label key %q is not a valid key (letters, digits, - _ . and an optional dns/ prefix, at most 63 characters)", truncate(k, 80)).With("field", "labels")
		}
		if !labels.ValidValue(v) {
			return apierr.BadRequest(apierr.InvalidLabel, "label %q has an invalid value (letters, digits, - _ ., at most 63 characters)", truncate(k, 80)).With("field", "labels")
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// refField is one credential reference of an input and the field it is in.
type refField struct{ field, raw string }

// refsOf lists an input's credential references: credentialRef and every
// config field the provider declares secret.
func refsOf(spec *connectors.Spec, in contracts.IntegrationInput) []refField {
	var out []refField
	if in.CredentialRef != "" {
		out = append(out, refField{"credentialRef", in.CredentialRef})
	}
	for f := range spec.AllFields() {
		if s, _ := in.Config[f.Name].(string); f.Secret && s != "" {
			out = append(out, refField{f.Name, s})
		}
	}
	return out
}

// checkRefs checks every reference of an input the way it will be resolved,
// so that a reference that can never work for this tenant is refused when
// saved rather than found out at the first check: env:// and file:// must be
// inside the tenant's grant (the resolvers' own credentials.LocalPolicy
// check), vault:// and authref:// must name a secret-store integration of
// the same tenant (by id, or by unique name: credentials.FindStore, the
// resolvers' rule). The resolvers check again when they resolve. A store of
// another tenant gets the same answer as a store that does not exist.
func (c *Catalog) checkRefs(ctx context.Context, tenant string, spec *connectors.Spec, in contracts.IntegrationInput) error {
	for _, rf := range refsOf(spec, in) {
		ref, err := credentials.ParseRef(rf.raw)
		if err != nil {
			return apierr.BadRequest(apierr.InvalidCredentialRef, "%s: %s", rf.field, err.Error()).With("field", rf.field)
		}
		switch ref.Scheme {
		case credentials.SchemeEnv, credentials.SchemeFile:
			if err := c.local.Check(tenant, ref); err != nil {
				return apierr.BadRequest(apierr.CredentialRefNotAllowed, "%s: %s", rf.field, err.Error()).With("field", rf.field)
			}
		case credentials.SchemeVault, credentials.SchemeAuthRef:
			var lookupErr error
			store, found := credentials.FindStore(c.store.tenantIntegrations(ctx, tenant, ref.Store, &lookupErr), tenant, ref.Store)
			if lookupErr != nil {
				return fmt.Errorf("look up secret store: %w", lookupErr)
			}
			if s, ok := c.registry.Lookup(store.TypeID); !found || !ok || s.Category != connectors.CategorySecretStore {
				return apierr.BadRequest(apierr.InvalidCredentialRef,
					"%s: the store of this reference is neither the id nor the unique name of a secret-store integration of this tenant", rf.field).
					With("field", rf.field)
			}
		}
	}
	return nil
}
