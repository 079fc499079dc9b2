package discovery

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
)

// EncodeCompleted and AppendResult give json.Marshal's bytes: the worker's
// answer, the ingress's cache hit and every consumer of the event must not
// be able to tell which encoder wrote it.
func TestEncodeCompletedIsJSONMarshal(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 6, 1, 2, 3, 456789, time.FixedZone("x", 3600))
	for name, c := range map[string]contracts.DiscoveryCompleted{
		"repositories": {RequestID: "r-1", TenantID: "t", IntegrationID: "i", Result: &contracts.DiscoveryResult{
			ResourceType: "repositories", Items: resources(3), NextCursor: "eyJvIjoxMDB9", CacheHit: true, AgeSeconds: 42, DiscoveredAt: at}},
		"escapes": {RequestID: "r\"<>&\u2028", TenantID: "t\x01", IntegrationID: "é", Result: &contracts.DiscoveryResult{
			ResourceType: "tags", Items: []contracts.Resource{
				{Type: "tags", Name: "<script>&\"\\\n\t\b\f\x7f\xff\u2029"},
				{Type: "tags", Name: "v1", ID: "sha256:ab", Attributes: map[string]any{"digest": "sha256:<ab>", "n": 1.5, "z": nil, "list": []any{"a", true}}},
				{Type: "tags", Name: "v2", Attributes: map[string]any{}},
			}}},
		"empty items":   {RequestID: "r", Result: &contracts.DiscoveryResult{ResourceType: "tags", Items: []contracts.Resource{}}},
		"nil items":     {RequestID: "r", Result: &contracts.DiscoveryResult{ResourceType: "tags"}},
		"error":         {RequestID: "r", TenantID: "t", IntegrationID: "i", Error: &contracts.ErrorBody{Code: "RATE_LIMITED", Message: "<slow>", Details: map[string]any{"retryAfterSeconds": 3}}},
		"neither":       {RequestID: "r"},
		"result, error": {RequestID: "r", Result: &contracts.DiscoveryResult{}, Error: &contracts.ErrorBody{Code: "X"}},
	} {
		want, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := EncodeCompleted(c)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: EncodeCompleted = %s, %v\nwant %s", name, got, err, want)
		}
		if c.Result != nil {
			want, _ := json.Marshal(c.Result)
			if got, err := AppendResult([]byte("x"), *c.Result); err != nil || !bytes.Equal(got, append([]byte("x"), want...)) {
				t.Errorf("%s: AppendResult = %s, %v\nwant x%s", name, got, err, want)
			}
		}
	}
}

// What encoding/json refuses is refused too, not written.
func TestEncodeCompletedRefusesWhatJSONRefuses(t *testing.T) {
	t.Parallel()
	for name, r := range map[string]contracts.DiscoveryResult{
		"NaN attribute": {Items: []contracts.Resource{{Name: "x", Attributes: map[string]any{"n": math.NaN()}}}},
		"year 10000":    {DiscoveredAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, err := json.Marshal(r); err == nil {
			t.Fatalf("%s: json.Marshal accepts it", name)
		}
		if b, err := EncodeCompleted(contracts.DiscoveryCompleted{Result: &r}); err == nil {
			t.Errorf("%s: encoded %s", name, b)
		}
	}
}

func FuzzAppendResultIsJSONMarshal(f *testing.F) {
	f.Add("tags", "v1", "sha256:ab", "c", "digest", "x", int64(3), true)
	f.Add("repositories", "<a>&\"b\"", "", "", "", "", int64(-1), false)
	f.Add("t", "\xff\xfe\u2028", "\x00", "\\", "k\n", "\u2029", int64(math.MaxInt64), true)
	f.Fuzz(func(t *testing.T, typ, name, id, cursor, attrKey, attrValue string, age int64, hit bool) {
		item := contracts.Resource{Type: typ, Name: name, ID: id}
		if attrKey != "" {
			item.Attributes = map[string]any{attrKey: attrValue}
		}
		r := contracts.DiscoveryResult{ResourceType: typ, Items: []contracts.Resource{item, {Type: typ, Name: id}}, NextCursor: cursor,
			CacheHit: hit, AgeSeconds: age, DiscoveredAt: time.Unix(0, age).UTC()}
		want, err := json.Marshal(r)
		if err != nil {
			// json.Marshal refuses the input (a time it cannot write):
			// AppendResult must refuse it too rather than write something.
			if got, aerr := AppendResult(nil, r); aerr == nil {
				t.Fatalf("AppendResult wrote %s where json.Marshal refused: %v", got, err)
			}
			return
		}
		got, err := AppendResult(nil, r)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("AppendResult = %s, %v\nwant %s", got, err, want)
		}
	})
}

func resources(n int) []contracts.Resource {
	items := make([]contracts.Resource, n)
	for i := range items {
		name := fmt.Sprintf("team/service-%03d", i)
		items[i] = contracts.Resource{Type: "repositories", Name: name, ID: name}
	}
	return items
}

func BenchmarkEncodeCompleted(b *testing.B) {
	c := contracts.DiscoveryCompleted{RequestID: "3f1c2f1e-6b8a-4a7e-9b7d-2f1c2f1e6b8a", TenantID: "t", IntegrationID: "i",
		Result: &contracts.DiscoveryResult{ResourceType: "repositories", Items: resources(200), DiscoveredAt: time.Now()}}
	for _, enc := range []struct {
		name string
		fn   func(contracts.DiscoveryCompleted) ([]byte, error)
	}{
		{"json.Marshal", func(c contracts.DiscoveryCompleted) ([]byte, error) { return json.Marshal(c) }},
		{"EncodeCompleted", EncodeCompleted},
	} {
		b.Run(enc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := enc.fn(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The encoder writes the members of these contract types by hand: a field
// added to one of them must be added there too (the comparisons above
// would only notice it once a test sets it).
func TestEncoderKnowsEveryContractField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v    any
		want []string
	}{
		{contracts.DiscoveryCompleted{}, []string{"requestId", "tenantId", "integrationId", "result", "error"}},
		{contracts.DiscoveryResult{}, []string{"resourceType", "items", "nextCursor", "cacheHit", "ageSeconds", "discoveredAt"}},
		{contracts.Resource{}, []string{"type", "name", "id", "attributes"}},
	} {
		typ := reflect.TypeOf(tc.v)
		var have []string
		for i := range typ.NumField() {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			have = append(have, name)
		}
		if !slices.Equal(have, tc.want) {
			t.Errorf("%s has the JSON members %v; the encoder writes %v: update EncodeCompleted/AppendResult", typ.Name(), have, tc.want)
		}
	}
}
