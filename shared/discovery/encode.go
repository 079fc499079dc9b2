package discovery

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/stella-ops/inthub/shared/contracts"
)

// EncodeCompleted is json.Marshal(c), byte for byte, written without
// reflection for the page of items (see AppendResult): the worker encodes
// one per discovery while the caller waits.
func EncodeCompleted(c contracts.DiscoveryCompleted) ([]byte, error) {
	size := 128 + len(c.RequestID) + len(c.TenantID) + len(c.IntegrationID)
	if c.Result != nil {
		size += resultSize(*c.Result)
	}
	b := make([]byte, 0, size)
	b = append(b, `{"requestId":`...)
	b = appendString(b, c.RequestID)
	b = append(b, `,"tenantId":`...)
	b = appendString(b, c.TenantID)
	b = append(b, `,"integrationId":`...)
	b = appendString(b, c.IntegrationID)
	var err error
	if c.Result != nil {
		b = append(b, `,"result":`...)
		if b, err = AppendResult(b, *c.Result); err != nil {
			return nil, err
		}
	}
	if c.Error != nil {
		b = append(b, `,"error":`...)
		if b, err = appendMarshal(b, c.Error); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// AppendResult appends json.Marshal(r), byte for byte, to dst. The worker's
// answers and the ingress's cache hits are encoded by it, so both give the
// same bytes. encoding/json spent most of a cold discovery's encoding
// walking each item's struct fields by reflection; here an item with plain
// strings and no attributes (a repository, a tag without details) is
// appended directly, and anything else (escapes, attributes, the time) is
// left to encoding/json.
func AppendResult(dst []byte, r contracts.DiscoveryResult) ([]byte, error) {
	dst = append(dst, `{"resourceType":`...)
	dst = appendString(dst, r.ResourceType)
	dst = append(dst, `,"items":`...)
	if r.Items == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, item := range r.Items {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendResource(dst, item); err != nil {
				return nil, err
			}
		}
		dst = append(dst, ']')
	}
	if r.NextCursor != "" {
		dst = append(dst, `,"nextCursor":`...)
		dst = appendString(dst, r.NextCursor)
	}
	dst = append(dst, `,"cacheHit":`...)
	dst = strconv.AppendBool(dst, r.CacheHit)
	dst = append(dst, `,"ageSeconds":`...)
	dst = strconv.AppendInt(dst, r.AgeSeconds, 10)
	dst = append(dst, `,"discoveredAt":`...)
	at, err := r.DiscoveredAt.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode discoveredAt: %w", err)
	}
	dst = append(dst, at...)
	return append(dst, '}'), nil
}

func appendResource(dst []byte, r contracts.Resource) ([]byte, error) {
	dst = append(dst, `{"type":`...)
	dst = appendString(dst, r.Type)
	dst = append(dst, `,"name":`...)
	dst = appendString(dst, r.Name)
	if r.ID != "" {
		dst = append(dst, `,"id":`...)
		dst = appendString(dst, r.ID)
	}
	if len(r.Attributes) > 0 {
		dst = append(dst, `,"attributes":`...)
		var err error
		if dst, err = appendMarshal(dst, r.Attributes); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

// appendString appends s as encoding/json quotes it: as it is when every
// byte is printable ASCII that needs no escape (names, ids, cursors), else
// by encoding/json itself (HTML-escaped, invalid UTF-8 replaced).
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always encodes
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

func appendMarshal(dst []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}

// resultSize is about the encoded size of r, to size the buffer once.
func resultSize(r contracts.DiscoveryResult) int {
	n := 128 + len(r.ResourceType) + len(r.NextCursor)
	for _, item := range r.Items {
		n += len(`{"type":"","name":"","id":""},`) + len(item.Type) + len(item.Name) + len(item.ID)
		if len(item.Attributes) > 0 {
			n += 64 * len(item.Attributes)
		}
	}
	return n
}
