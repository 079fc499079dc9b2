// Command syncopenapi copies the *.schema.json files of the schemas folder
// that openapi.json uses (referred to from its paths and other components,
// directly or through one another) into its components/schemas, so the
// OpenAPI document stays self-contained for clients: each component is its
// file without $id and $schema, named by the file's title, and references to
// sibling files become references to their components. Schemas only the bus
// uses stay out (asyncapi.yaml refers to the files). The rest of
// openapi.json is kept as it is, in its order.
//
// Run it from the schemas folder: go generate ./... (or go run
// ./internal/syncopenapi). shared/contracts/schema_test.go fails when the
// components and the files drift apart.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	if err := run("."); err != nil {
		fmt.Fprintln(os.Stderr, "syncopenapi:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.schema.json"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	schemas := make(map[string]*node, len(files))
	nameOf := make(map[string]string, len(files))
	for _, f := range files {
		n, err := readNode(f)
		if err != nil {
			return err
		}
		title, err := n.get("title").str()
		if err != nil {
			return fmt.Errorf("%s: title: %w", f, err)
		}
		schemas[f] = n
		nameOf[filepath.Base(f)] = title
	}
	components := &node{kind: '{'}
	for _, f := range files {
		n := schemas[f]
		n.drop("$id", "$schema")
		name := nameOf[filepath.Base(f)]
		if err := n.rewriteRefs(name, nameOf); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		components.set(name, n)
	}
	path := filepath.Join(dir, "openapi.json")
	doc, err := readNode(path)
	if err != nil {
		return err
	}
	comps := doc.get("components")
	if comps == nil {
		return errors.New("openapi.json has no components")
	}
	// Only the schemas the document uses, directly or through one another:
	// the bus's own messages are in asyncapi.yaml (and published as files),
	// and an OpenAPI component nothing refers to is noise to its readers
	// and linters (Redocly's no-unused-components).
	comps.set("schemas", &node{kind: '{'})
	used := map[string]bool{}
	var queue []string
	collect := func(n *node) {
		n.componentRefs(func(name string) {
			if !used[name] {
				used[name] = true
				queue = append(queue, name)
			}
		})
	}
	collect(doc)
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		c := components.get(name)
		if c == nil {
			return fmt.Errorf("openapi.json refers to #/components/schemas/%s, which no schema file is titled", name)
		}
		collect(c)
	}
	kept := &node{kind: '{'}
	for i, k := range components.keys {
		if used[k] {
			kept.keys = append(kept.keys, k)
			kept.vals = append(kept.vals, components.vals[i])
		}
	}
	comps.set("schemas", kept)
	var buf bytes.Buffer
	doc.write(&buf, 0)
	buf.WriteByte('\n')
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// node is a JSON value that keeps the order of object members.
type node struct {
	kind byte // '{', '[' or 0 for a scalar
	keys []string
	vals []*node
	raw  []byte // a scalar's JSON text
}

func readNode(path string) (*node, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	n, err := parse(dec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: data after the document", path)
	}
	return n, nil
}

func parse(dec *json.Decoder) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		n := &node{kind: '{'}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := parse(dec)
			if err != nil {
				return nil, err
			}
			n.keys = append(n.keys, k.(string))
			n.vals = append(n.vals, v)
		}
		_, err := dec.Token() // '}'
		return n, err
	case json.Delim('['):
		n := &node{kind: '['}
		for dec.More() {
			v, err := parse(dec)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, v)
		}
		_, err := dec.Token() // ']'
		return n, err
	}
	raw, err := marshal(tok)
	return &node{raw: raw}, err
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func (n *node) get(key string) *node {
	if n == nil {
		return nil
	}
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

func (n *node) set(key string, v *node) {
	for i, k := range n.keys {
		if k == key {
			n.vals[i] = v
			return
		}
	}
	n.keys = append(n.keys, key)
	n.vals = append(n.vals, v)
}

func (n *node) drop(keys ...string) {
	for _, key := range keys {
		for i, k := range n.keys {
			if k == key {
				n.keys = append(n.keys[:i], n.keys[i+1:]...)
				n.vals = append(n.vals[:i], n.vals[i+1:]...)
				break
			}
		}
	}
}

func (n *node) str() (string, error) {
	if n == nil || n.kind != 0 {
		return "", errors.New("not a string")
	}
	var s string
	err := json.Unmarshal(n.raw, &s)
	return s, err
}

// rewriteRefs turns "file.schema.json#frag" and "#frag" into references
// to components.
func (n *node) rewriteRefs(own string, nameOf map[string]string) error {
	for i, v := range n.vals {
		if n.kind == '{' && n.keys[i] == "$ref" {
			ref, err := v.str()
			if err != nil {
				return fmt.Errorf("$ref: %w", err)
			}
			file, frag, _ := strings.Cut(ref, "#")
			target := own
			if file != "" {
				if target = nameOf[file]; target == "" {
					return fmt.Errorf("$ref %q: no such schema file", ref)
				}
			}
			raw, err := marshal("#/components/schemas/" + target + frag)
			if err != nil {
				return err
			}
			n.vals[i] = &node{raw: raw}
			continue
		}
		if err := v.rewriteRefs(own, nameOf); err != nil {
			return err
		}
	}
	return nil
}

// componentRefs calls f with the name of each component schema n refers to
// ("$ref": "#/components/schemas/<name>[/...]").
func (n *node) componentRefs(f func(name string)) {
	const prefix = "#/components/schemas/"
	for i, v := range n.vals {
		if n.kind == '{' && n.keys[i] == "$ref" {
			if ref, err := v.str(); err == nil && strings.HasPrefix(ref, prefix) {
				name, _, _ := strings.Cut(strings.TrimPrefix(ref, prefix), "/")
				f(name)
			}
			continue
		}
		v.componentRefs(f)
	}
}

// write renders n indented by two spaces per level.
func (n *node) write(buf *bytes.Buffer, depth int) {
	if n.kind == 0 {
		buf.Write(n.raw)
		return
	}
	closer := byte('}')
	if n.kind == '[' {
		closer = ']'
	}
	buf.WriteByte(n.kind)
	if len(n.vals) == 0 {
		buf.WriteByte(closer)
		return
	}
	pad := strings.Repeat("  ", depth+1)
	for i, v := range n.vals {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
		buf.WriteString(pad)
		if n.kind == '{' {
			k, _ := marshal(n.keys[i])
			buf.Write(k)
			buf.WriteString(": ")
		}
		v.write(buf, depth+1)
	}
	buf.WriteByte('\n')
	buf.WriteString(strings.Repeat("  ", depth))
	buf.WriteByte(closer)
}
