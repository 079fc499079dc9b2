// Package schemas embeds the hub's published contracts: one JSON Schema
// (draft 2020-12) per message and API body, the OpenAPI 3.1 document of the
// ingress and the AsyncAPI 3 document of the bus. The Go types in
// shared/contracts mirror these files; shared/contracts/schema_test.go keeps
// the two in agreement.
package schemas

//go:generate go run ./internal/syncopenapi

import (
	"embed"
	"io/fs"
)

// FS holds every schema file, openapi.json and asyncapi.yaml, at its base
// name.
//
//go:embed *.json *.yaml
var FS embed.FS

// OpenAPI returns the bytes of openapi.json, served by the ingress at
// /api/v1/openapi.json.
func OpenAPI() []byte {
	b, err := fs.ReadFile(FS, "openapi.json")
	if err != nil {
		// The file is embedded at build time; a miss is a build defect.
		panic("schemas: openapi.json not embedded: " + err.Error())
	}
	return b
}
