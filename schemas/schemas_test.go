package schemas

import (
	"encoding/json"
	"io/fs"
	"testing"
)

func TestOpenAPIIsTheEmbeddedDocument(t *testing.T) {
	var doc struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil || doc.OpenAPI != "3.1.0" {
		t.Fatalf("OpenAPI(): openapi %q, err %v", doc.OpenAPI, err)
	}
}

func TestFSHoldsEveryDocument(t *testing.T) {
	for _, name := range []string{"openapi.json", "asyncapi.yaml", "integration.schema.json", "error.schema.json"} {
		if _, err := fs.Stat(FS, name); err != nil {
			t.Errorf("%s not embedded: %v", name, err)
		}
	}
	schemas, err := fs.Glob(FS, "*.schema.json")
	if err != nil || len(schemas) < 20 {
		t.Errorf("embedded %d schema files (err %v)", len(schemas), err)
	}
}
