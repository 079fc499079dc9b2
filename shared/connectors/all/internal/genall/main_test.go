package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestImplementationsFileIsFresh fails when connectors/all/implementations.go
// is not what the declarations list generates: a provider added to (or
// removed from) connectors/specs without running go generate.
func TestImplementationsFileIsFresh(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(filepath.Join("..", "..", specsFile))
	if err != nil {
		t.Fatal(err)
	}
	want, err := generate(src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("..", "..", outFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run go generate ./shared/connectors/all\n--- want\n%s", outFile, want)
	}
}

func TestGenerateRefusesListsItCannotMap(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, src string }{
		{"unnamed spec import", `package specs
import "example.com/x/notify/foo/spec"
func List() []*connectors.Spec { return []*connectors.Spec{spec.Spec} }`},
		{"entry from another package", `package specs
import foo "example.com/x/notify/foo/spec"
func List() []*connectors.Spec { return []*connectors.Spec{bar.Spec} }`},
		{"no list", `package specs
import foo "example.com/x/notify/foo/spec"
var x = foo.Spec`},
		{"entry that is not a selector", `package specs
import foo "example.com/x/notify/foo/spec"
func List() []*connectors.Spec { return []*connectors.Spec{foo()} }`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if out, err := generate([]byte(tc.src)); err == nil {
				t.Fatalf("generated %s", out)
			}
		})
	}
}
