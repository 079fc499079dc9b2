package manager_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
)

const tenantC = "0193a0b4-0000-7000-8000-00000000000c" // granted no local secrets

// vaultStore is a secret-store integration whose own token is a local
// reference of tenant.
func vaultStore(name, tokenRef string) contracts.IntegrationInput {
	return contracts.IntegrationInput{
		TypeID: "hashicorp-vault", Name: name, CredentialRef: tokenRef,
		Config: map[string]any{"url": "https://vault.example.com", "mountPath": "secret"},
	}
}

// TestReferencesAreCheckedWhenSaved is the regression test of items 1 and 6
// of the references issue: a reference that can never resolve for the
// tenant saving it (another tenant's local secret, the hub's own
// environment or files, a store that is missing, of another tenant or not a
// store) was stored with 201; now each is 400 on create, replace and patch,
// whatever field holds it, and nothing is stored.
func TestReferencesAreCheckedWhenSaved(t *testing.T) {
	t.Parallel()
	cl, _ := startManager(t)
	ctx := context.Background()
	create := func(tenant string, in contracts.IntegrationInput) contracts.Integration {
		t.Helper()
		it, err := cl.Create(ctx, catalog.CreateRequest{TenantID: tenant, Input: in})
		if err != nil {
			t.Fatalf("create %s: %v", in.Name, err)
		}
		return it.Integration
	}
	storeA := create(tenantA, vaultStore("vault-a", "env://INTHUB_SECRET_A_VAULT"))
	hookA := create(tenantA, input("not a store"))
	create(tenantA, vaultStore("twin", "env://INTHUB_SECRET_A_VAULT"))
	create(tenantA, vaultStore("twin", "file:///run/secrets/inthub/a/vault#token"))
	storeB := create(tenantB, vaultStore("vault-b", "env://INTHUB_SECRET_B_VAULT"))
	ownB := create(tenantB, inputOfB("B's own"))

	// What each tenant may save.
	for _, ok := range []struct{ tenant, ref string }{
		{tenantA, "vault://" + storeA.ID + "/ci#token"},
		{tenantA, "authref://vault-a/ci#token"},
		{tenantA, "env://INTHUB_SECRET_A_CI"},
		{tenantA, "file:///run/secrets/inthub/a/ci.json#token"},
		{tenantB, "vault://vault-b/ci"},
		{tenantB, "authref://" + storeB.ID + "/ci#token"},
	} {
		in := input("ok")
		if ok.tenant == tenantB {
			in = inputOfB("ok")
		}
		in.CredentialRef = ok.ref
		create(ok.tenant, in)
	}

	const notAllowed, unknownStore = apierr.CredentialRefNotAllowed, apierr.InvalidCredentialRef
	tests := []struct {
		name, tenant, field, ref, code string
	}{
		// item 1: local references of another tenant, or of nobody.
		{"another tenant's env", tenantB, "credentialRef", "env://INTHUB_SECRET_A_VAULT", notAllowed},
		{"another tenant's file", tenantB, "credentialRef", "file:///run/secrets/inthub/a/ci.json#token", notAllowed},
		{"another tenant's env in a secret config field", tenantB, "signingSecretRef", "env://INTHUB_SECRET_A_WEBHOOK", notAllowed},
		{"the shared base prefix", tenantA, "credentialRef", "env://INTHUB_SECRET_TOKEN", notAllowed},
		{"a tenant without a grant", tenantC, "credentialRef", "env://INTHUB_SECRET_C_TOKEN", notAllowed},
		// item 6: references that were stored although they cannot resolve.
		{"system file", tenantA, "credentialRef", "file:///etc/passwd#x", notAllowed},
		{"hub environment", tenantA, "credentialRef", "env://HOME", notAllowed},
		{"hub environment in a secret config field", tenantA, "signingSecretRef", "env://HOME", notAllowed},
		{"vault store that does not exist", tenantA, "credentialRef", "vault://vault-z/ci#token", unknownStore},
		{"authref store that does not exist", tenantA, "credentialRef", "authref://0193a0b4-0000-7000-8000-0000000000ff/ci", unknownStore},
		{"another tenant's store by id", tenantB, "credentialRef", "vault://" + storeA.ID + "/ci#token", unknownStore},
		{"another tenant's store by name", tenantB, "credentialRef", "authref://vault-a/ci#token", unknownStore},
		{"another tenant's store in a secret config field", tenantB, "signingSecretRef", "vault://" + storeA.ID + "/hook#secret", unknownStore},
		{"an integration that is not a store", tenantA, "credentialRef", "vault://" + hookA.ID + "/ci", unknownStore},
		{"a name two integrations share", tenantA, "credentialRef", "vault://twin/ci", unknownStore},
	}
	messages := map[string]map[string]bool{} // code -> messages (field name removed)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := input("refused")
			if tc.tenant != tenantA {
				in = inputOfB("refused")
			}
			if tc.field == "credentialRef" {
				in.CredentialRef = tc.ref
			} else {
				in.Config[tc.field] = tc.ref
			}
			target := hookA
			if tc.tenant != tenantA {
				target = ownB
			}
			patch, _ := json.Marshal(map[string]any{"credentialRef": in.CredentialRef, "config": in.Config})
			_, errCreate := cl.Create(ctx, catalog.CreateRequest{TenantID: tc.tenant, Input: in})
			_, errReplace := cl.Replace(ctx, catalog.ReplaceRequest{TenantID: tc.tenant, ID: target.ID, Input: in})
			_, errPatch := cl.Patch(ctx, catalog.PatchRequest{TenantID: tc.tenant, ID: target.ID, Patch: patch})
			if tc.tenant == tenantC {
				errReplace, errPatch = errCreate, errCreate // C has nothing to change
			}
			for verb, err := range map[string]error{"create": errCreate, "replace": errReplace, "patch": errPatch} {
				var ae *apierr.Error
				if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != tc.code || ae.Details["field"] != tc.field {
					t.Fatalf("%s: got %v (details %v), want 400 %s on %s", verb, err, detailsOf(err), tc.code, tc.field)
				}
				for _, hint := range []string{"INTHUB_SECRET_", "/run/secrets", "vault-a", storeA.ID, "passwd", "HOME"} {
					if strings.Contains(ae.Message, hint) {
						t.Fatalf("%s: message reveals %q: %s", verb, hint, ae.Message)
					}
				}
				if messages[ae.Code] == nil {
					messages[ae.Code] = map[string]bool{}
				}
				messages[ae.Code][strings.Replace(ae.Message, tc.field, "<field>", 1)] = true
			}
		})
	}
	// One sentence per code: a store of another tenant, a missing store and
	// an integration that is no store cannot be told apart.
	for code, set := range messages {
		if len(set) != 1 {
			t.Errorf("%s answers with %d different messages: %v", code, len(set), set)
		}
	}
	for _, it := range []contracts.Integration{hookA, ownB} {
		tenant := it.TenantID
		got, err := cl.Get(ctx, catalog.GetRequest{TenantID: tenant, ID: it.ID})
		if err != nil || got.Revision != it.Revision {
			t.Fatalf("%s changed by a refused save: %+v %v", it.Name, got, err)
		}
	}
	for tenant, want := range map[string]int{tenantA: 8, tenantB: 4, tenantC: 0} {
		list, err := cl.List(ctx, catalog.ListRequest{TenantID: tenant})
		if err != nil || len(list.Items) != want {
			t.Errorf("tenant %s has %d integrations (%v), want %d: a refused create was stored", tenant, len(list.Items), err, want)
		}
	}
}

// inputOfB is input with references of tenant B.
func inputOfB(name string) contracts.IntegrationInput {
	in := input(name)
	in.Config["signingSecretRef"] = "env://INTHUB_SECRET_B_WEBHOOK"
	in.CredentialRef = ""
	return in
}

func detailsOf(err error) map[string]any {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return ae.Details
	}
	return nil
}
