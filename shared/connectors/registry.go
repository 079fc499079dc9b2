package connectors

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Registry holds the loaded providers' specs, by id and alias.
type Registry struct {
	mu      sync.RWMutex
	byID    map[string]*Spec
	byAlias map[string]*Spec
}

// NewRegistry returns a registry holding specs. It panics on a duplicate id
// or alias, or a spec whose declaration is wrong (Spec.CheckDeclaration):
// those are programming errors caught by the first test.
func NewRegistry(specs ...*Spec) *Registry {
	r := &Registry{byID: map[string]*Spec{}, byAlias: map[string]*Spec{}}
	for _, s := range specs {
		r.Register(s)
	}
	return r
}

// Register adds a spec.
func (r *Registry) Register(s *Spec) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.ID == "" || s.Category == "" {
		panic("connectors: spec without id or category")
	}
	if err := s.CheckDeclaration(); err != nil {
		panic("connectors: " + err.Error())
	}
	for _, name := range append([]string{s.ID}, s.Aliases...) {
		if r.byID[name] != nil || r.byAlias[name] != nil {
			panic(fmt.Sprintf("connectors: provider %q registered twice", name))
		}
	}
	r.byID[s.ID] = s
	for _, a := range s.Aliases {
		r.byAlias[a] = s
	}
}

// Lookup finds a spec by id or alias (case-insensitive).
func (r *Registry) Lookup(idOrAlias string) (*Spec, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k := strings.ToLower(idOrAlias)
	if s, ok := r.byID[k]; ok {
		return s, true
	}
	s, ok := r.byAlias[k]
	return s, ok
}

// Specs returns every spec sorted by category then id.
func (r *Registry) Specs() []*Spec {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*Spec, 0, len(r.byID))
	for _, s := range r.byID {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *Spec) int {
		if c := strings.Compare(string(a.Category), string(b.Category)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}
