package manager_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestConfigRulesOfTheDeclarationAreEnforcedWhenSaved: a value that breaks
// a rule its provider's spec declares (enum of a list's elements, pattern,
// bounds, custom check) is refused with 400 naming the field on create,
// replace and patch, instead of being saved and failing later as an
// unhealthy check.
func TestConfigRulesOfTheDeclarationAreEnforcedWhenSaved(t *testing.T) {
	t.Parallel()
	c, _ := startManager(t)
	ctx := context.Background()
	slack := func(cfg map[string]any) contracts.IntegrationInput {
		base := map[string]any{"defaultChannel": "#releases"}
		for k, v := range cfg {
			base[k] = v
		}
		return contracts.IntegrationInput{TypeID: "slack", Name: "chat", Config: base, CredentialRef: "env://INTHUB_SECRET_A_SLACK"}
	}
	registry := func(cfg map[string]any) contracts.IntegrationInput {
		base := map[string]any{"url": "https://registry.example.com"}
		for k, v := range cfg {
			base[k] = v
		}
		return contracts.IntegrationInput{TypeID: "docker-registry", Name: "images", Config: base}
	}
	tests := []struct {
		name  string
		in    contracts.IntegrationInput
		code  string // "" = accepted
		field string
		index any
	}{
		{"slack channel types", slack(map[string]any{"channelTypes": []any{"public_channel", "im"}}), "", "", nil},
		{"slack misspelt channel type", slack(map[string]any{"channelTypes": []any{"public_chanel"}}), apierr.InvalidFieldValue, "channelTypes", float64(0)},
		{"slack no channel type", slack(map[string]any{"channelTypes": []any{}}), apierr.InvalidFieldValue, "channelTypes", nil},
		{"slack API URL with a query", slack(map[string]any{"url": "https://slack.example.com/api?x=1"}), apierr.InvalidFieldValue, "url", nil},
		{"registry repository", registry(map[string]any{"repository": "myorg/app"}), "", "", nil},
		{"registry repository not lowercase", registry(map[string]any{"repository": "MyOrg/App"}), apierr.InvalidFieldValue, "repository", nil},
		{"registry repository with ..", registry(map[string]any{"repository": "myorg/../app"}), apierr.InvalidFieldValue, "repository", nil},
		{"github owner", contracts.IntegrationInput{TypeID: "github-actions", Name: "gh", CredentialRef: "env://INTHUB_SECRET_A_GH",
			Config: map[string]any{"owner": "-bad", "repo": "app"}}, apierr.InvalidFieldValue, "owner", nil},
		{"github repo ..", contracts.IntegrationInput{TypeID: "github-actions", Name: "gh", CredentialRef: "env://INTHUB_SECRET_A_GH",
			Config: map[string]any{"owner": "myorg", "repo": ".."}}, apierr.InvalidFieldValue, "repo", nil},
		{"gitlab project path", contracts.IntegrationInput{TypeID: "gitlab-ci", Name: "gl", CredentialRef: "env://INTHUB_SECRET_A_GL",
			Config: map[string]any{"url": "https://gitlab.example.com", "projectId": "group/../app"}}, apierr.InvalidFieldValue, "projectId", nil},
		{"email recipient", contracts.IntegrationInput{TypeID: "email", Name: "mail",
			Config: map[string]any{"host": "smtp.example.com", "from": "hub@example.com", "to": []any{"ops@example.com", "not an address"}}},
			apierr.InvalidFieldValue, "to", float64(1)},
		{"opsgenie too many tags", contracts.IntegrationInput{TypeID: "opsgenie", Name: "og", CredentialRef: "env://INTHUB_SECRET_A_OG",
			Config: map[string]any{"tags": []any{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20", "21"}}},
			apierr.InvalidFieldValue, "tags", nil},
		{"vault mount path", contracts.IntegrationInput{TypeID: "hashicorp-vault", Name: "v", CredentialRef: "env://INTHUB_SECRET_A_VAULT",
			Config: map[string]any{"url": "https://vault.example.com", "mountPath": "secret/../sys"}}, apierr.InvalidFieldValue, "mountPath", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := c.Create(ctx, catalog.CreateRequest{TenantID: tenantA, Input: tc.in})
			if tc.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantRefused(t, err, tc.code, tc.field, tc.index)
		})
	}

	// Replace and patch are checked the same way.
	it, err := c.Create(ctx, catalog.CreateRequest{TenantID: tenantA, Input: slack(nil)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Replace(ctx, catalog.ReplaceRequest{TenantID: tenantA, ID: it.ID, Input: slack(map[string]any{"channelTypes": []any{"im", "public_chanel"}})})
	wantRefused(t, err, apierr.InvalidFieldValue, "channelTypes", float64(1))
	_, err = c.Patch(ctx, catalog.PatchRequest{TenantID: tenantA, ID: it.ID, Patch: json.RawMessage(`{"config":{"channelTypes":["public_chanel"]}}`)})
	wantRefused(t, err, apierr.InvalidFieldValue, "channelTypes", float64(0))
	reg, err := c.Create(ctx, catalog.CreateRequest{TenantID: tenantA, Input: registry(nil)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Patch(ctx, catalog.PatchRequest{TenantID: tenantA, ID: reg.ID, Patch: json.RawMessage(`{"config":{"repository":"MyOrg/App"}}`)})
	wantRefused(t, err, apierr.InvalidFieldValue, "repository", nil)
}

func wantRefused(t *testing.T, err error, code, field string, index any) {
	t.Helper()
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != code || ae.Details["field"] != field || ae.Details["index"] != index {
		t.Fatalf("got %v (%+v), want 400 %s on %s (index %v)", err, ae, code, field, index)
	}
}
