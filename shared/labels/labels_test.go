package labels

import (
	"errors"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/apierr"
)

func TestValidKeyAndValue(t *testing.T) {
	t.Parallel()
	keys := []struct {
		name string
		key  string
		want bool
	}{
		{"plain", "env", true},
		{"with prefix", "example.com/team", true},
		{"underscore and dot", "a_b.c-d", true},
		{"63 characters", strings.Repeat("a", 63), true},
		{"64 characters", strings.Repeat("a", 64), false},
		{"empty", "", false},
		{"space", "a b", false},
		{"leading dash", "-a", false},
		{"upper-case prefix", "Example.com/a", false},
		{"empty name after prefix", "example.com/", false},
	}
	for _, tc := range keys {
		t.Run("key "+tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ValidKey(tc.key); got != tc.want {
				t.Errorf("ValidKey(%q) = %v, want %v", tc.key, got, tc.want)
			}
		})
	}
	values := []struct {
		name  string
		value string
		want  bool
	}{
		{"empty", "", true},
		{"plain", "prod", true},
		{"mixed", "v1.2_3-X", true},
		{"63 characters", strings.Repeat("a", 63), true},
		{"64 characters", strings.Repeat("a", 64), false},
		{"slash", "a/b", false},
		{"trailing dot", "a.", false},
	}
	for _, tc := range values {
		t.Run("value "+tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ValidValue(tc.value); got != tc.want {
				t.Errorf("ValidValue(%q) = %v, want %v", tc.value, got, tc.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		selector string
		message  string
	}{
		{"set syntax", "env in (prod)", `label selector term "env in (prod)" is not key, !key, key=value or key!=value`},
		{"space in key", "a b=c", `label selector term "a b=c" is not key, !key, key=value or key!=value`},
		{"empty term", "env=prod,", `label selector term "" is not key, !key, key=value or key!=value`},
		{"empty key", "=prod", `label selector term "=prod" is not key, !key, key=value or key!=value`},
		{"bad value", "env=a/b", `label selector term "env=a/b" is not key, !key, key=value or key!=value`},
		{"too long", strings.Repeat("a,", 600), "label selector is longer than 1024 characters"},
		{"long term truncated", strings.Repeat("a", 100) + " x", `label selector term "` + strings.Repeat("a", 80) + `…" is not key, !key, key=value or key!=value`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sel, err := Parse(tc.selector)
			if sel != nil {
				t.Errorf("Parse returned a selector with an error: %v", sel)
			}
			var ae *apierr.Error
			if !errors.As(err, &ae) {
				t.Fatalf("Parse(%q) error = %v, want an *apierr.Error", tc.selector, err)
			}
			if ae.Status != 400 || ae.Code != apierr.InvalidLabelSelector || ae.Message != tc.message {
				t.Errorf("error = %d %s %q, want 400 %s %q", ae.Status, ae.Code, ae.Message, apierr.InvalidLabelSelector, tc.message)
			}
		})
	}
}

func TestSelectorMatches(t *testing.T) {
	t.Parallel()
	set := map[string]string{"env": "prod", "team": "platform", "example.com/tier": "web", "empty": ""}
	cases := []struct {
		name     string
		selector string
		want     bool
	}{
		{"empty matches all", "", true},
		{"blank matches all", "  ", true},
		{"equality", "env=prod", true},
		{"double equals", "env==prod", true},
		{"equality fails", "env=staging", false},
		{"equality of a missing key", "region=eu", false},
		{"inequality", "env!=staging", true},
		{"inequality fails", "env!=prod", false},
		{"inequality of a missing key", "region!=eu", true},
		{"exists", "team", true},
		{"exists fails", "region", false},
		{"not exists", "!region", true},
		{"not exists fails", "!team", false},
		{"empty value", "empty=", true},
		{"prefixed key", "example.com/tier=web", true},
		{"spaces around terms", " env = prod , ! region ", true},
		{"all terms must hold", "env=prod,team=other", false},
		{"several terms", "env=prod,tier!=db,team,!legacy", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sel, err := Parse(tc.selector)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.selector, err)
			}
			if got := sel.Matches(set); got != tc.want {
				t.Errorf("Parse(%q).Matches = %v, want %v", tc.selector, got, tc.want)
			}
		})
	}
}
