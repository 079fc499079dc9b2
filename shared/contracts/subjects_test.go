package contracts

import "testing"

func TestPrefixOf(t *testing.T) {
	cases := []struct{ subject, want string }{
		{SubjectTestRequested + ".t1.i1", SubjectTestRequested},
		{SubjectHealthCheckRequest + ".t1.i1", SubjectHealthCheckRequest},
		// integration.health.checked must not be taken for a shorter prefix.
		{SubjectHealthChecked + ".t1.i1", SubjectHealthChecked},
		{SubjectAnalysisCancel + ".t1.r1", SubjectAnalysisCancel},
		{SubjectAnalysisRequested + ".t1.r1", SubjectAnalysisRequested},
		{SubjectTestRequested, ""},          // no token after the prefix
		{SubjectTestRequested + "x.t1", ""}, // not a whole token
		{"unknown.subject.t1", ""},
		{"", ""},
	}
	for _, tc := range cases {
		if got := PrefixOf(tc.subject); got != tc.want {
			t.Errorf("PrefixOf(%q) = %q, want %q", tc.subject, got, tc.want)
		}
	}
}

func TestPrefixOfAllocatesNothing(t *testing.T) {
	subject := Subject(SubjectHealthChecked, "t1", "i1")
	if n := testing.AllocsPerRun(100, func() { _ = PrefixOf(subject) }); n != 0 {
		t.Fatalf("PrefixOf allocates %v times per call", n)
	}
}
