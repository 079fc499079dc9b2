package bus

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// BucketKeys lists the keys of kv that match filter (a subject pattern
// relative to the bucket, such as "tenant.*"), sorted, from one snapshot of
// the subjects the bucket's stream holds.
//
// nats.go's ListKeys watches the bucket and ends at the first entry that
// reports nothing pending. Under concurrent writes that count can reach
// zero early, so a listing taken while records were being updated missed
// keys that existed throughout (a pipeline run being polled vanished from
// its integration's list). The stream's subject list is taken by the
// server in one step and does not have that race.
//
// The snapshot still names keys whose last entry is a delete or purge
// marker: callers read each key and skip jetstream.ErrKeyNotFound.
func BucketKeys(ctx context.Context, js jetstream.JetStream, kv jetstream.KeyValue, filter string) ([]string, error) {
	name := kv.Bucket()
	stream, err := js.Stream(ctx, "KV_"+name)
	if err != nil {
		return nil, fmt.Errorf("list keys of bucket %s: %w", name, err)
	}
	prefix := "$KV." + name + "."
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(prefix+filter))
	if err != nil {
		return nil, fmt.Errorf("list keys of bucket %s: %w", name, err)
	}
	keys := make([]string, 0, len(info.State.Subjects))
	for subject := range info.State.Subjects {
		keys = append(keys, strings.TrimPrefix(subject, prefix))
	}
	slices.Sort(keys)
	return keys, nil
}
