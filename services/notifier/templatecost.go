package notifier

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"text/template/parse"
	"time"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/notifyrules"
)

// text/template cannot be interrupted: a template that loops without
// printing (nested {{define}}s each calling the previous one twice, a
// {{range}} over a huge number) would hold a core for as long as it likes,
// and the output limit never trips. So the work a template can do is
// computed from its parse trees before anything runs — at save, on the
// worst data a rule is designed for, and again before each render, on the
// data at hand — and a template over the bound is refused.
//
// The unit is one node evaluation (about 100 ns); a call of a function that
// walks its argument (json, printf, upper, …) costs one unit per few bytes of
// the data a template can see, since it may be handed all of it.
const (
	// maxTemplateWork is the bound, in units: roughly 0.1 s of one core.
	maxTemplateWork = 1_000_000
	// designListLen is the list, map and range length a template is
	// checked against at save: rules are for notifications, not reports.
	designListLen = 100
	// designDataBytes is the data size a template is checked against at
	// save.
	designDataBytes = 16 << 10
	// bytesPerUnit is how many bytes a value-walking call handles per unit.
	bytesPerUnit = 8
	// maxPrintfWidth bounds printf's width and precision, which fmt
	// allocates before anything is written.
	maxPrintfWidth = 1000
	// maxRenderTime stops a template that keeps printing past it: a second
	// line behind the static bound, checked on every write.
	maxRenderTime = time.Second
)

// heavyFuncs are the functions whose work grows with their arguments.
var heavyFuncs = map[string]bool{
	"json": true, "join": true, "upper": true, "lower": true, "truncate": true,
	"printf": true, "print": true, "println": true, "html": true, "js": true, "urlquery": true,
}

// workBounds are the data dimensions a template's work is computed for.
type workBounds struct {
	// listLen is the most iterations one {{range}} can make.
	listLen int64
	// heavyCall is the cost of one call of a value-walking function.
	heavyCall int64
}

// costTree is one field's templates as parsed, kept to compute its work:
// the trees are never executed, so reading them needs no lock.
type costTree struct {
	field string
	root  string
	trees map[string]*parse.Tree
	// rangeFloor is the largest count a {{range}} over an integer can get
	// from the template itself: an integer literal, a byte from index, a
	// length from len (see usesLen).
	rangeFloor int64
	usesLen    bool
}

// newCostTree collects the trees of a parsed template set.
func newCostTree(field, root string, trees map[string]*parse.Tree) *costTree {
	c := &costTree{field: field, root: root, trees: trees}
	for _, t := range trees {
		if t != nil && t.Root != nil {
			c.scan(t.Root)
		}
	}
	return c
}

// scan notes the integer sources a {{range}} may iterate over, in n and
// below.
func (c *costTree) scan(n parse.Node) {
	switch n := n.(type) {
	case *parse.ListNode:
		for _, m := range n.Nodes {
			c.scan(m)
		}
	case *parse.ActionNode:
		c.scan(n.Pipe)
	case *parse.TemplateNode:
		c.scan(n.Pipe)
	case *parse.IfNode:
		c.scanBranch(&n.BranchNode)
	case *parse.RangeNode:
		c.scanBranch(&n.BranchNode)
	case *parse.WithNode:
		c.scanBranch(&n.BranchNode)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, cmd := range n.Cmds {
			for _, a := range cmd.Args {
				c.scan(a)
			}
		}
	case *parse.ChainNode:
		c.scan(n.Node)
	case *parse.NumberNode:
		if n.IsInt && n.Int64 > c.rangeFloor {
			c.rangeFloor = n.Int64
		}
		if n.IsUint && n.Uint64 > uint64(c.rangeFloor) {
			c.rangeFloor = int64(min(n.Uint64, 1<<62))
		}
	case *parse.IdentifierNode:
		switch n.Ident {
		case "index":
			c.rangeFloor = max(c.rangeFloor, 255) // a string's byte
		case "len":
			c.usesLen = true
		}
	}
}

func (c *costTree) scanBranch(b *parse.BranchNode) {
	c.scan(b.Pipe)
	if b.List != nil {
		c.scan(b.List)
	}
	if b.ElseList != nil {
		c.scan(b.ElseList)
	}
}

// work returns the units of work one execution of the root template can
// take under b, or an error for recursion or a printf that allocates too
// much.
func (c *costTree) work(b workBounds) (int64, error) {
	w := &workWalk{c: c, b: b, memo: map[string]int64{}, active: map[string]bool{}}
	t := c.trees[c.root]
	if t == nil || t.Root == nil {
		return 0, nil
	}
	w.active[c.root] = true
	n := w.list(t.Root)
	return n, w.err
}

// check refuses c when its work under b passes the bound; the refusal
// names the field, the bound and what to change.
func (c *costTree) check(b workBounds) error {
	n, err := c.work(b)
	if err != nil {
		return templateError(c.field, "%s", err)
	}
	if n > maxTemplateWork {
		return apierr.BadRequest(notifyrules.InvalidTemplate, "template %s: the template would take more than %d steps of work (the limit): nested {{template}} calls and {{range}} loops multiply it (a {{range}} counts %d iterations); simplify it",
			c.field, maxTemplateWork, b.listLen).With("field", "template."+c.field).With("limit", maxTemplateWork)
	}
	return nil
}

// workWalk is one computation of a costTree's work; sums saturate just
// above the bound so doubling cannot overflow.
type workWalk struct {
	c      *costTree
	b      workBounds
	memo   map[string]int64
	active map[string]bool
	err    error
}

const workCap = maxTemplateWork + 1

func add(a, b int64) int64 { return min(a+b, workCap) }

func mul(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a >= workCap || b >= workCap || a > workCap/b {
		return workCap
	}
	return min(a*b, workCap)
}

func (w *workWalk) list(l *parse.ListNode) int64 {
	if l == nil {
		return 0
	}
	var n int64
	for _, node := range l.Nodes {
		n = add(n, w.node(node))
		if w.err != nil || n >= workCap {
			return n
		}
	}
	return n
}

func (w *workWalk) node(n parse.Node) int64 {
	switch n := n.(type) {
	case *parse.ActionNode:
		return add(1, w.pipe(n.Pipe))
	case *parse.IfNode:
		return add(add(1, w.pipe(n.Pipe)), max(w.list(n.List), w.list(n.ElseList)))
	case *parse.WithNode:
		return add(add(1, w.pipe(n.Pipe)), max(w.list(n.List), w.list(n.ElseList)))
	case *parse.RangeNode:
		body := mul(w.b.listLen, add(1, w.list(n.List)))
		return add(add(1, w.pipe(n.Pipe)), max(body, w.list(n.ElseList)))
	case *parse.TemplateNode:
		return add(add(1, w.pipe(n.Pipe)), w.call(n.Name))
	case *parse.ListNode:
		return w.list(n)
	}
	return 1 // text, comment, break, continue
}

// call is the work of a {{template}} call, computed once per name.
func (w *workWalk) call(name string) int64 {
	if n, ok := w.memo[name]; ok {
		return n
	}
	if w.active[name] {
		if w.err == nil {
			w.err = fmt.Errorf("template %q calls itself, directly or through other templates; recursion is not allowed", name)
		}
		return workCap
	}
	t := w.c.trees[name]
	if t == nil || t.Root == nil {
		return 1 // fails at execution: "no such template"
	}
	w.active[name] = true
	n := w.list(t.Root)
	delete(w.active, name)
	w.memo[name] = n
	return n
}

func (w *workWalk) pipe(p *parse.PipeNode) int64 {
	if p == nil {
		return 0
	}
	var n int64
	for _, c := range p.Cmds {
		n = add(n, w.cmd(c))
	}
	return n
}

func (w *workWalk) cmd(c *parse.CommandNode) int64 {
	n := int64(len(c.Args))
	for i, a := range c.Args {
		switch a := a.(type) {
		case *parse.PipeNode:
			n = add(n, w.pipe(a))
		case *parse.ChainNode:
			if p, ok := a.Node.(*parse.PipeNode); ok {
				n = add(n, w.pipe(p))
			}
		case *parse.IdentifierNode:
			if i == 0 && heavyFuncs[a.Ident] {
				n = add(n, w.b.heavyCall)
			}
			if i == 0 && a.Ident == "printf" && len(c.Args) > 1 && w.err == nil {
				if s, ok := c.Args[1].(*parse.StringNode); ok {
					w.err = checkPrintfFormat(s.Text)
				}
			}
		}
	}
	return n
}

// designBounds are the bounds a template is checked against at save.
func (c *costTree) designBounds() workBounds {
	return workBounds{listLen: max(designListLen, c.rangeFloor), heavyCall: 1 + designDataBytes/bytesPerUnit}
}

// boundsFor are the bounds of one render: the longest list or map in d
// (and string, when the template takes lengths), and d's size.
func (c *costTree) boundsFor(d renderData) workBounds {
	var s dataShape
	s.walk(reflect.ValueOf(d), 0)
	longest := s.longestList
	if c.usesLen {
		longest = max(longest, s.longestString)
	}
	return workBounds{listLen: max(longest, c.rangeFloor), heavyCall: 1 + s.bytes/bytesPerUnit}
}

// dataShape measures template data: its size and its longest list.
type dataShape struct {
	bytes, longestList, longestString int64
}

// maxShapeDepth stops the walk of absurdly deep data (JSON decoding
// allows 10000 levels); what is deeper is counted as one value.
const maxShapeDepth = 64

func (s *dataShape) walk(v reflect.Value, depth int) {
	s.bytes += 8
	if depth > maxShapeDepth {
		return
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if !v.IsNil() {
			s.walk(v.Elem(), depth+1)
		}
	case reflect.String:
		s.bytes += int64(v.Len())
		s.longestString = max(s.longestString, int64(v.Len()))
	case reflect.Slice, reflect.Array:
		s.longestList = max(s.longestList, int64(v.Len()))
		for i := range v.Len() {
			s.walk(v.Index(i), depth+1)
		}
	case reflect.Map:
		s.longestList = max(s.longestList, int64(v.Len()))
		it := v.MapRange()
		for it.Next() {
			s.walk(it.Key(), depth+1)
			s.walk(it.Value(), depth+1)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				s.walk(v.Field(i), depth+1)
			}
		}
	}
}

// checkPrintfFormat refuses a printf format whose width or precision is
// over maxPrintfWidth or taken from an argument ("*"): fmt would allocate
// the padding before the output limit can refuse it.
func checkPrintfFormat(format string) error {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
	flags:
		for i++; i < len(format); i++ {
			ch := format[i]
			switch {
			case ch == '*':
				return errors.New("printf: a width or precision from an argument (*) is not allowed")
			case ch >= '0' && ch <= '9':
				j := i
				for j < len(format) && format[j] >= '0' && format[j] <= '9' {
					j++
				}
				if n, err := strconv.Atoi(format[i:j]); err != nil || n > maxPrintfWidth {
					return fmt.Errorf("printf: width or precision %s is over the limit of %d", truncate(format[i:j], 12), maxPrintfWidth)
				}
				i = j - 1
			case strings.IndexByte("+-# .[]", ch) < 0:
				break flags // the verb
			}
		}
	}
	return nil
}

// safePrintf is text/template's printf with checkPrintfFormat applied to
// formats that are not literals (literals are refused at save).
func safePrintf(format string, args ...any) (string, error) {
	if err := checkPrintfFormat(format); err != nil {
		return "", err
	}
	return fmt.Sprintf(format, args...), nil
}
