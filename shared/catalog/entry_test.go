package catalog_test

import (
	"reflect"
	"testing"

	"github.com/stella-ops/inthub/shared/contracts"
)

// TestViewKeepsConfigAndLabelsExactly: the view keeps config and labels in
// a compact form; every read returns them as decoding the bucket's value
// whole did, as maps of the reader's own.
func TestViewKeepsConfigAndLabelsExactly(t *testing.T) {
	t.Parallel()
	full := integration(tenantA, "i1", "Registry", "docker-registry")
	full.Config = map[string]any{"url": "https://r.example", "port": 5000.0, "tls": true, "nested": map[string]any{"a": []any{"x", 1.5}}}
	full.Labels = map[string]string{"env": "prod", "team": "release"}
	full.CredentialRef, full.Description = "vault://kv/r", "the registry"
	bare := integration(tenantB, "i2", "Bare", "slack") // no config, no labels
	f := newViewFixture(t, full, bare)
	f.next(t)
	f.next(t)
	for _, want := range []contracts.Integration{full, bare} {
		got, ok := f.view.Get(want.TenantID, want.ID)
		if !ok {
			t.Fatalf("Get(%s) not found", want.ID)
		}
		want.Revision = got.Revision
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Get(%s) = %+v, want %+v", want.ID, got, want)
		}
	}
	got, _ := f.view.Get(tenantA, "i1")
	got.Config["url"], got.Labels["env"] = "changed", "changed"
	if again, _ := f.view.Get(tenantA, "i1"); again.Config["url"] != "https://r.example" || again.Labels["env"] != "prod" {
		t.Errorf("a reader's change reached the view: %+v", again)
	}
	if it, ok := f.view.FindStore(tenantA, "Registry"); !ok || it.ID != "i1" || it.Config["port"] != 5000.0 {
		t.Errorf("FindStore = %+v, %v", it, ok)
	}
	if it, ok := f.view.Find("i2"); !ok || it.TenantID != tenantB || it.Name != "Bare" {
		t.Errorf("Find = %+v, %v", it, ok)
	}
	if _, ok := f.view.Find("none"); ok {
		t.Error("Find(none) found")
	}
}
