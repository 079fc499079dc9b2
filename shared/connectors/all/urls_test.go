package all_test

import (
	"maps"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/all"
)

// TestEveryURLTheDeclarationAcceptsBuilds: a URL field's rules are declared
// once, in the spec, and checked when an integration is saved; a URL saved
// with 201 must then build. A factory that parses the URL more strictly
// than its declaration (a query or fragment the connector's kit parser
// refuses) would accept the config at save and fail every check later.
func TestEveryURLTheDeclarationAcceptsBuilds(t *testing.T) {
	t.Parallel()
	variants := []string{
		"https://h.example",
		"https://h.example/prefix/",
		"http://h.example:8080/prefix",
		"https://h.example/prefix?tenant=a",
		"https://h.example/prefix?",
		"https://h.example/prefix#part",
		"https://h.example/prefix#",
	}
	for _, s := range all.Specs() {
		for _, f := range s.Fields {
			if f.Type != connectors.TypeURL {
				continue
			}
			for _, v := range variants {
				t.Run(s.ID+"/"+f.Name+"="+v, func(t *testing.T) {
					t.Parallel()
					cfg := maps.Clone(s.Example.Config)
					if cfg == nil {
						cfg = map[string]any{}
					}
					cfg[f.Name] = v
					if err := s.ValidateConfig(cfg); err != nil {
						return // refused at save with 400: nothing is built
					}
					if err := buildWith(t, s, cfg); err != nil {
						t.Fatalf("saved with 201, but the factory refuses it: %v", err)
					}
				})
			}
		}
	}
}
