package cache

import (
	"context"
	"fmt"

	"golang.org/x/sync/singleflight"
)

// flight runs one fill per key in this process (golang.org/x/sync's
// singleflight), and lets each caller stop waiting when its own context
// ends without cancelling the fill the others still wait for.
type flight struct{ group singleflight.Group }

// result is what a flight hands its callers.
type result struct {
	entry   Entry
	outcome Outcome
}

// do runs fn once for every concurrent caller of key.
func (f *flight) do(ctx context.Context, key string, fn func(ctx context.Context) (result, error)) (result, error) {
	detached := context.WithoutCancel(ctx)
	ch := f.group.DoChan(key, func() (v any, err error) {
		// singleflight re-panics a DoChan panic on a goroutine of its own,
		// where nothing could recover it: turn it into the fill's error.
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("discovery fill panicked: %v", p)
			}
		}()
		return fn(detached)
	})
	select {
	case r := <-ch:
		res, _ := r.Val.(result) // kept with an error: its outcome still counts
		return res, r.Err
	case <-ctx.Done():
		return result{}, ctx.Err()
	}
}

// failedOutcome is the outcome of a failed fill: the flight's if it said
// one, else a miss (or a bypass for a refresh).
func failedOutcome(res result, opts Options) Outcome {
	switch {
	case res.outcome != "":
		return res.outcome
	case opts.Refresh:
		return Bypass
	}
	return Miss
}
