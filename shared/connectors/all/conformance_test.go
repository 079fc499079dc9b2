package all_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/all"
)

// specDecl is where a provider's spec is declared: its package's folder
// and the variable holding it.
type specDecl struct{ dir, name string }

// TestEveryProviderRunsTheConformanceSuite fails for a shipped provider
// whose package has no test calling connectortest.RunConformance with its
// spec: the suite (connectortest/conformance.go) is what proves a provider
// classifies failures, pages and keeps secrets as the hub expects. It reads
// the source tree, since the provider tests run in their own binaries.
func TestEveryProviderRunsTheConformanceSuite(t *testing.T) {
	t.Parallel()
	root := ".."                             // shared/connectors
	ids := map[specDecl]string{}             // spec variable -> its ID expression
	consts := map[string]map[string]string{} // folder -> its string constants
	conformance := map[specDecl]bool{}       // spec variables a conformance test names
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		dir := filepath.Dir(path)
		if strings.HasSuffix(path, "_test.go") {
			for _, name := range conformanceSpecs(f) {
				conformance[specDecl{dir, name}] = true
			}
			return nil
		}
		if filepath.Base(dir) == "spec" {
			// A provider's declaration lives in <provider>/spec; its
			// conformance test in the provider's own folder.
			dir = filepath.Dir(dir)
		}
		if consts[dir] == nil {
			consts[dir] = map[string]string{}
		}
		for name, v := range stringConsts(f) {
			consts[dir][name] = v
		}
		for name, id := range specVars(f) {
			ids[specDecl{dir, name}] = id
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	decls := map[string]specDecl{} // provider id -> declaration
	for d, id := range ids {
		if v, ok := consts[d.dir][id]; ok {
			id = v
		}
		decls[id] = d
	}
	for _, s := range all.Specs() {
		d, ok := decls[s.ID]
		switch {
		case !ok:
			t.Errorf("provider %s: no `var X = &connectors.Spec{ID: ...}` declaration found under shared/connectors", s.ID)
		case !conformance[d]:
			t.Errorf("provider %s has no conformance test: add a test in %s calling connectortest.RunConformance(t, connectortest.Provider{Spec: %s, ...})",
				s.ID, "shared/connectors/"+strings.TrimPrefix(filepath.ToSlash(d.dir), "../"), d.name)
		}
	}
}

// conformanceSpecs returns the identifiers given as Spec in a file that
// calls RunConformance.
func conformanceSpecs(f *ast.File) []string {
	calls := false
	var names []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "RunConformance" {
				calls = true
			}
		case *ast.KeyValueExpr:
			if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Spec" {
				if v, ok := n.Value.(*ast.Ident); ok {
					names = append(names, v.Name)
				}
			}
		}
		return true
	})
	if !calls {
		return nil
	}
	return names
}

// specVars returns the package-level `var X = &connectors.Spec{ID: id}` of
// a file: variable name -> the ID expression (a string or a constant name).
func specVars(f *ast.File) map[string]string {
	out := map[string]string{}
	for _, decl := range f.Decls {
		g, ok := decl.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, v := range vs.Values {
				u, ok := v.(*ast.UnaryExpr)
				if !ok || u.Op != token.AND {
					continue
				}
				lit, ok := u.X.(*ast.CompositeLit)
				if !ok {
					continue
				}
				if sel, ok := lit.Type.(*ast.SelectorExpr); !ok || sel.Sel.Name != "Spec" {
					continue
				}
				for _, el := range lit.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if k, isIdent := kv.Key.(*ast.Ident); !ok || !isIdent || k.Name != "ID" {
						continue
					}
					switch id := kv.Value.(type) {
					case *ast.BasicLit:
						out[vs.Names[i].Name], _ = strconv.Unquote(id.Value)
					case *ast.Ident:
						out[vs.Names[i].Name] = id.Name
					}
				}
			}
		}
	}
	return out
}

// stringConsts returns a file's string constants: name -> value.
func stringConsts(f *ast.File) map[string]string {
	out := map[string]string{}
	for _, decl := range f.Decls {
		g, ok := decl.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, v := range vs.Values {
				if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					out[vs.Names[i].Name], _ = strconv.Unquote(lit.Value)
				}
			}
		}
	}
	return out
}
