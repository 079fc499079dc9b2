package bus

import (
	"slices"
	"testing"
)

// Permissions grant what each kind of declaration needs and nothing the
// declarations do not name.
func TestAccessPermissions(t *testing.T) {
	t.Parallel()
	a := Access{Service: "worker", Buckets: []string{"things"}, ReadBuckets: []string{"catalog"}, Routes: []Route{
		{Name: "consume", Stream: StreamCommands, Subject: "thing.requested.>", Durable: "things",
			Produces: []string{"thing.done.>"}},
		ReplyRoute("inthub.worker.get", nil),
		{Name: "api", Calls: []string{"inthub.other.get"}, Awaits: []string{"thing.done.>"}},
		{Name: "ops", Reads: []string{StreamEvents}, Manages: []string{StreamDLQ}},
	}}
	p := a.Permissions()
	tests := []struct {
		list    string
		subject string
		want    bool
	}{
		{"publish", "$JS.API.STREAM.INFO." + StreamCommands, true},
		{"publish", "$JS.API.STREAM.CREATE." + StreamEvents, true},
		{"publish", "$JS.API.INFO", true},
		{"publish", "$JS.API.STREAM.CREATE.KV_things", true},
		{"publish", "$KV.things.>", true},
		{"publish", "$JS.API.DIRECT.GET.KV_things.>", true},
		// A read bucket: ensured and read, never written.
		{"publish", "$JS.API.STREAM.CREATE.KV_catalog", true},
		{"publish", "$JS.API.CONSUMER.CREATE.KV_catalog.>", true},
		{"publish", "$JS.API.DIRECT.GET.KV_catalog.>", true},
		{"publish", "$KV.catalog.>", false},
		{"publish", "$JS.API.CONSUMER.CREATE." + StreamCommands + ".things.>", true},
		{"publish", "$JS.API.CONSUMER.MSG.NEXT." + StreamCommands + ".things", true},
		{"publish", "$JS.ACK." + StreamCommands + ".things.>", true},
		{"publish", DLQPrefix + ".thing.requested.>", true},
		{"publish", "thing.done.>", true},
		{"publish", "inthub.other.get", true},
		{"publish", "$JS.API.CONSUMER.CREATE." + StreamEvents + ".>", true},
		{"publish", "$JS.API.STREAM.PURGE." + StreamDLQ, true},
		{"publish", "$JS.API.STREAM.MSG.DELETE." + StreamDLQ, true},
		{"publish", "integration.created.>", true}, // a redrive's subjects
		{"subscribe", "inthub.worker.get", true},
		{"subscribe", "$SRV.>", true},
		{"subscribe", "thing.done.>", true},
		{"subscribe", "_INBOX.worker.>", true},
		// Never granted: what no declaration names.
		{"publish", "$JS.API.STREAM.DELETE." + StreamCommands, false},
		{"publish", "$JS.API.STREAM.PURGE." + StreamEvents, false},
		{"publish", "$JS.API.CONSUMER.CREATE." + StreamCommands + ".other.>", false},
		{"publish", "$KV.others.>", false},
		{"publish", "thing.requested.>", false},
		{"publish", ">", false},
		{"subscribe", "_INBOX.>", false},
		{"subscribe", "thing.requested.>", false},
	}
	for _, tc := range tests {
		list := p.Publish
		if tc.list == "subscribe" {
			list = p.Subscribe
		}
		if got := slices.Contains(list, tc.subject); got != tc.want {
			t.Errorf("%s %s: granted %v, want %v", tc.list, tc.subject, got, tc.want)
		}
	}
	// A service serving nothing has no micro discovery subjects, one with
	// no bucket no account info.
	bare := Access{Service: "source", Routes: []Route{{Name: "out", Produces: []string{"x.>"}}}}.Permissions()
	if slices.Contains(bare.Subscribe, "$SRV.>") || slices.Contains(bare.Publish, "$JS.API.INFO") {
		t.Errorf("bare source: %+v", bare)
	}
}

func TestInboxPrefix(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{"manager": "_INBOX.manager", "health-scheduler": "_INBOX.health-scheduler",
		"": "_INBOX", "a.b": "_INBOX", "x y": "_INBOX", "*": "_INBOX"} {
		if got := InboxPrefix(name); got != want {
			t.Errorf("InboxPrefix(%q) = %q, want %q", name, got, want)
		}
	}
}
