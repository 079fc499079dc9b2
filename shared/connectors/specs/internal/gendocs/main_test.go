package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProviderDocsAreFresh regenerates every provider page and the README's
// index and compares them with the committed files: a spec changed without
// make docs fails here.
func TestProviderDocsAreFresh(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", root)
	files, err := generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, f := range files {
		want[f.path] = true
		got, err := os.ReadFile(filepath.Join(dir, f.path))
		if err != nil {
			t.Errorf("%s: %v (run make docs)", f.path, err)
			continue
		}
		if !bytes.Equal(got, f.content) {
			t.Errorf("%s is stale: run make docs", f.path)
		}
	}
	// No page is left for a provider that is gone.
	pages, _ := filepath.Glob(filepath.Join(dir, "docs", "providers", "*.md"))
	for _, p := range pages {
		if rel := "docs/providers/" + filepath.Base(p); !want[rel] {
			t.Errorf("%s documents no shipped provider: delete it", rel)
		}
	}
}

func TestPagesHoldWhatAProviderNeeds(t *testing.T) {
	t.Parallel()
	for _, s := range documented() {
		p := string(page(s))
		for _, want := range []string{"## Config fields", "## Credentials", "## Health checks", "curl -s -X POST", "stella config integrations create", "--provider " + s.ID} {
			if !strings.Contains(p, want) {
				t.Errorf("%s: page lacks %q", s.ID, want)
			}
		}
		for _, f := range s.Fields {
			if !strings.Contains(p, "| `"+f.Name+"` |") {
				t.Errorf("%s: page lacks field %s", s.ID, f.Name)
			}
		}
		for _, l := range s.CheckLevels {
			if !strings.Contains(p, "| "+string(l)+" | "+s.CheckDescriptions[l]) {
				t.Errorf("%s: page lacks check level %s", s.ID, l)
			}
		}
	}
}

func TestREADMEWithoutMarkersIsAnError(t *testing.T) {
	t.Parallel()
	if _, err := withIndex([]byte("# no index here\n"), "x"); err == nil {
		t.Fatal("no error")
	}
	got, err := withIndex([]byte("a\n"+indexBegin+"\nold\n"+indexEnd+"\nb\n"), "new\n")
	if err != nil || string(got) != "a\n"+indexBegin+"\nnew\n"+indexEnd+"\nb\n" {
		t.Fatalf("got %q, %v", got, err)
	}
}
