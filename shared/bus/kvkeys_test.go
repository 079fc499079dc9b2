package bus_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/natstest"
)

// TestBucketKeysWhileKeysChange: every key that exists throughout a listing
// is listed, however busily the bucket is written meanwhile (nats.go's
// ListKeys could end early under concurrent updates); keys of another
// prefix are not, and deleted keys are named for the caller to skip.
func TestBucketKeysWhileKeysChange(t *testing.T) {
	t.Parallel()
	b := natstest.Open(t, natstest.Start(t), "kvkeys")
	ctx := context.Background()
	js := b.JetStream()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "kvkeys_test"})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 40 {
		k := fmt.Sprintf("t1.k%02d", i)
		want = append(want, k)
		if _, err := kv.Put(ctx, k, []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := kv.Put(ctx, "t2.other", []byte("v")); err != nil {
		t.Fatal(err)
	}

	// Writers rewrite every key of t1 for as long as the listings run.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = kv.Put(ctx, want[(i*4+w)%len(want)], fmt.Appendf(nil, "v%d", i))
			}
		})
	}
	for i := range 200 {
		got, err := bus.BucketKeys(ctx, js, kv, "t1.*")
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			close(stop)
			wg.Wait()
			t.Fatalf("listing %d: got %d keys %v, want the %d keys of t1", i, len(got), got, len(want))
		}
	}
	close(stop)
	wg.Wait()

	if err := kv.Delete(ctx, "t1.k00"); err != nil {
		t.Fatal(err)
	}
	got, err := bus.BucketKeys(ctx, js, kv, "t1.*")
	if err != nil || !slices.Contains(got, "t1.k00") {
		t.Fatalf("a deleted key is named (its marker is the subject's last entry): %v %v", got, err)
	}
	if _, err := kv.Get(ctx, "t1.k00"); err != jetstream.ErrKeyNotFound {
		t.Fatalf("reading the deleted key: %v, want ErrKeyNotFound", err)
	}
}
