package catalog

import (
	"encoding/json"

	"github.com/stella-ops/inthub/shared/contracts"
)

// entry is how a View keeps one integration: its fields as decoded, but
// its config and labels as the JSON the bucket holds rather than as Go
// maps. A decoded map of even one key takes a header and a group of eight
// slots (about 340 bytes each for config and labels), which was most of a
// view's memory; the JSON of a typical config is a few dozen bytes. The
// reads that return an integration decode them (get), so every reader
// gets maps of its own, as before, and changing them changes nothing in
// the view.
type entry struct {
	it             contracts.Integration // Config and Labels nil
	config, labels json.RawMessage
}

// stored is the bucket's JSON of an integration with its config and
// labels kept raw: the outer fields shadow the embedded ones.
type stored struct {
	contracts.Integration
	Config json.RawMessage `json:"config"`
	Labels json.RawMessage `json:"labels"`
}

// decodeEntry decodes a bucket value into an entry.
func decodeEntry(value []byte) (entry, error) {
	var s stored
	if err := json.Unmarshal(value, &s); err != nil {
		return entry{}, err
	}
	e := entry{it: s.Integration, config: compact(s.Config), labels: compact(s.Labels)}
	// The maps must decode, as they did when the view decoded them whole.
	if _, err := e.get(); err != nil {
		return entry{}, err
	}
	return e, nil
}

// compact drops a JSON null (absent, as a nil map) and copies nothing else.
func compact(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

// newEntry is the entry of an integration decoded whole (read from the
// bucket by Lookup).
func newEntry(it contracts.Integration) entry {
	e := entry{it: it}
	e.it.Config, e.it.Labels = nil, nil
	if it.Config != nil {
		e.config, _ = json.Marshal(it.Config)
	}
	if it.Labels != nil {
		e.labels, _ = json.Marshal(it.Labels)
	}
	return e
}

// get is the integration with its config and labels decoded.
func (e entry) get() (contracts.Integration, error) {
	it := e.it
	if e.config != nil {
		if err := json.Unmarshal(e.config, &it.Config); err != nil {
			return it, err
		}
	}
	if e.labels != nil {
		if err := json.Unmarshal(e.labels, &it.Labels); err != nil {
			return it, err
		}
	}
	return it, nil
}

// integration is get for an entry known to decode (decodeEntry and
// newEntry made it).
func (e entry) integration() contracts.Integration {
	it, _ := e.get()
	return it
}

// interned keeps one copy of the strings many integrations repeat (tenant
// and type ids), the first one seen; at most maxInterned of them, so ids
// that do not repeat cannot grow it without bound.
type interned map[string]string

const maxInterned = 1 << 16

func (in interned) of(s string) string {
	if c, ok := in[s]; ok {
		return c
	}
	if len(in) < maxInterned {
		in[s] = s
	}
	return s
}
