package config

import "testing"

// TestMiB: a size cap in MiB is read in bytes; unset and 0 keep the
// default (no cap), and anything but a whole number of at least 0 is an
// error naming the variable.
func TestMiB(t *testing.T) {
	const def = -1
	for _, tc := range []struct {
		value   string
		want    int64
		wantErr bool
	}{
		{value: "", want: def},
		{value: "0", want: def},
		{value: "1", want: 1 << 20},
		{value: " 20480 ", want: 20480 << 20},
		{value: "-1", want: def, wantErr: true},
		{value: "1.5", want: def, wantErr: true},
		{value: "10GB", want: def, wantErr: true},
	} {
		r := NewReader(func(string) string { return tc.value })
		if got := r.MiB("INTHUB_EVENTS_MAX_MB", def); got != tc.want {
			t.Errorf("MiB(%q) = %d, want %d", tc.value, got, tc.want)
		}
		if err := r.Err(); (err != nil) != tc.wantErr {
			t.Errorf("MiB(%q): error %v, want error %v", tc.value, err, tc.wantErr)
		}
	}
}
