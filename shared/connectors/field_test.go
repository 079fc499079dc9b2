package connectors_test

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/connectors"
)

// ruleSpec declares one field of each rule the declarations can state.
var ruleSpec = &connectors.Spec{
	ID: "rules", Category: connectors.CategoryRegistry,
	Fields: []connectors.Field{
		{Name: "name", Type: connectors.TypeString, MinLength: 2, MaxLength: 8, Pattern: regexp.MustCompile(`^[a-z]+$`), PatternDescription: "lowercase letters"},
		{Name: "kinds", Type: connectors.TypeStringList, Enum: []string{"a", "b", "c"}, Min: 1, Max: 2, Default: []string{"a"}},
		{Name: "count", Type: connectors.TypeInt, Min: 1, Max: 5, Default: 3},
		{Name: "floor", Type: connectors.TypeInt, Min: 10},
		{Name: "even", Type: connectors.TypeString, Check: func(s string) error {
			if len(s)%2 != 0 {
				return errors.New("must have an even length")
			}
			return nil
		}},
		{Name: "paths", Type: connectors.TypeStringList, Check: connectors.PlainPath},
		{Name: "api", Type: connectors.TypeURL, Check: connectors.BaseURL},
		{Name: "secure", Type: connectors.TypeURL, Check: connectors.HTTPSBaseURL},
		{Name: "flag", Type: connectors.TypeBool, Default: true},
		{Name: "mode", Type: connectors.TypeEnum, Enum: []string{"x", "y"}, Default: "y"},
	},
}

func TestValidateConfigEnforcesEveryRule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   map[string]any
		code  string // "" = accepted
		field string
		index any // nil = no index in details
	}{
		{"all valid", map[string]any{"name": "abc", "kinds": []any{"a", "c"}, "count": float64(5), "floor": float64(99), "even": "ab",
			"paths": []any{"a/b"}, "api": "https://x.example.com/base", "secure": "https://x.example.com", "flag": false, "mode": "x"}, "", "", nil},
		{"pattern", map[string]any{"name": "ABC"}, apierr.InvalidFieldValue, "name", nil},
		{"too short", map[string]any{"name": "a"}, apierr.InvalidFieldValue, "name", nil},
		{"too long", map[string]any{"name": "abcdefghi"}, apierr.InvalidFieldValue, "name", nil},
		{"list element outside the enum", map[string]any{"kinds": []any{"a", "z"}}, apierr.InvalidFieldValue, "kinds", 1},
		{"list too long", map[string]any{"kinds": []any{"a", "b", "c"}}, apierr.InvalidFieldValue, "kinds", nil},
		{"list too short", map[string]any{"kinds": []any{}}, apierr.InvalidFieldValue, "kinds", nil},
		{"list of non-strings", map[string]any{"kinds": []any{"a", 1.0}}, apierr.InvalidFieldType, "kinds", nil},
		{"int above max", map[string]any{"count": float64(6)}, apierr.InvalidFieldValue, "count", nil},
		{"int below min", map[string]any{"count": float64(0)}, apierr.InvalidFieldValue, "count", nil},
		{"int below a min without max", map[string]any{"floor": float64(9)}, apierr.InvalidFieldValue, "floor", nil},
		{"int not whole", map[string]any{"count": 2.5}, apierr.InvalidFieldType, "count", nil},
		{"custom check", map[string]any{"even": "abc"}, apierr.InvalidFieldValue, "even", nil},
		{"custom check on a list element", map[string]any{"paths": []any{"a", "../etc"}}, apierr.InvalidFieldValue, "paths", 1},
		{"base URL with a query", map[string]any{"api": "https://x.example.com/?a=1"}, apierr.InvalidFieldValue, "api", nil},
		{"base URL with an empty fragment", map[string]any{"api": "https://x.example.com/base#"}, apierr.InvalidFieldValue, "api", nil},
		{"https only", map[string]any{"secure": "http://x.example.com"}, apierr.InvalidFieldValue, "secure", nil},
		{"URL", map[string]any{"api": "ftp://x.example.com"}, apierr.InvalidURL, "api", nil},
		{"enum", map[string]any{"mode": "z"}, apierr.InvalidFieldValue, "mode", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := ruleSpec.ValidateConfig(tc.cfg)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != tc.code || ae.Details["field"] != tc.field || ae.Details["index"] != tc.index {
				t.Fatalf("got %v (%+v), want 400 %s on %s index %v", err, ae, tc.code, tc.field, tc.index)
			}
		})
	}
}

func TestValidateConfigNeverEchoesASecretFieldsValue(t *testing.T) {
	t.Parallel()
	s := &connectors.Spec{ID: "s", Category: connectors.CategoryRegistry, Fields: []connectors.Field{
		{Name: "keyRef", Type: connectors.TypeString, Secret: true, Pattern: regexp.MustCompile(`^env://`), PatternDescription: "an env reference"},
	}}
	err := s.ValidateConfig(map[string]any{"keyRef": "hunter2-value"})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("got %v", err)
	}
}

func TestValuesReadTheDeclaredDefaults(t *testing.T) {
	t.Parallel()
	v := connectors.NewValues(ruleSpec, map[string]any{"name": "", "count": float64(4), "kinds": []any{}})
	if got := v.String("name"); got != "" {
		t.Errorf("name %q", got)
	}
	if got := v.Int("count"); got != 4 {
		t.Errorf("count %d", got)
	}
	if got := v.Int("floor"); got != 0 {
		t.Errorf("floor %d", got)
	}
	if got := v.Strings("kinds"); !slices.Equal(got, []string{"a"}) {
		t.Errorf("kinds %v (an empty list reads as the default)", got)
	}
	if !v.Bool("flag") || v.String("mode") != "y" {
		t.Errorf("flag %v mode %q", v.Bool("flag"), v.String("mode"))
	}
	if got := v.Duration("timeout", time.Second); got != 30*time.Second {
		t.Errorf("common field timeout %v", got)
	}
	if got := connectors.CommonValues(map[string]any{"timeout": float64(7)}).Duration("timeout", time.Second); got != 7*time.Second {
		t.Errorf("common values timeout %v", got)
	}
	// A returned default is a copy: changing it changes no declaration.
	v.Strings("kinds")[0] = "changed"
	if ruleSpec.Field("kinds").Default.([]string)[0] != "a" {
		t.Fatal("the declaration's default was changed through Values")
	}
}

func TestValuesPanicOnUndeclaredOrMistypedReads(t *testing.T) {
	t.Parallel()
	v := connectors.NewValues(ruleSpec, nil)
	tests := []struct {
		name string
		read func()
	}{
		{"undeclared", func() { v.String("colour") }},
		{"int read as string", func() { v.String("count") }},
		{"string read as int", func() { v.Int("name") }},
		{"list read as bool", func() { v.Bool("kinds") }},
		{"bool read as list", func() { v.Strings("flag") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tc.read()
		})
	}
}

func TestCheckDeclarationFindsMistakes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		field connectors.Field
	}{
		{"default of the wrong type", connectors.Field{Name: "f", Type: connectors.TypeInt, Default: "3"}},
		{"float default", connectors.Field{Name: "f", Type: connectors.TypeInt, Default: 3.0}},
		{"default outside the range", connectors.Field{Name: "f", Type: connectors.TypeInt, Min: 1, Max: 2, Default: 5}},
		{"default outside the enum", connectors.Field{Name: "f", Type: connectors.TypeEnum, Enum: []string{"a"}, Default: "b"}},
		{"enum without values", connectors.Field{Name: "f", Type: connectors.TypeEnum}},
		{"pattern without description", connectors.Field{Name: "f", Type: connectors.TypeString, Pattern: regexp.MustCompile(`^a$`)}},
		{"list default outside the enum", connectors.Field{Name: "f", Type: connectors.TypeStringList, Enum: []string{"a"}, Default: []string{"b"}}},
		{"unnamed", connectors.Field{Type: connectors.TypeString}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &connectors.Spec{ID: "bad", Category: connectors.CategoryRegistry, Fields: []connectors.Field{tc.field}}
			if err := s.CheckDeclaration(); err == nil {
				t.Fatal("accepted")
			}
			defer func() {
				if recover() == nil {
					t.Fatal("the registry took it")
				}
			}()
			connectors.NewRegistry(s)
		})
	}
	dup := &connectors.Spec{ID: "dup", Category: connectors.CategoryRegistry, Fields: []connectors.Field{{Name: "a", Type: connectors.TypeBool}, {Name: "a", Type: connectors.TypeBool}}}
	if err := dup.CheckDeclaration(); err == nil {
		t.Fatal("duplicate field accepted")
	}
	badExample := &connectors.Spec{ID: "ex", Category: connectors.CategoryRegistry, Example: connectors.Example{Config: map[string]any{"colour": "blue"}}}
	if err := badExample.CheckDeclaration(); err == nil {
		t.Fatal("invalid example accepted")
	}
}
