package startup

import (
	"context"
	"fmt"
	"sync"
)

// Group runs parts side by side (a service's router and tasks, or the
// devstack's services): the first part that fails stops the others.
type Group struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	err    error
}

// NewGroup returns a group whose parts run under a child of ctx.
func NewGroup(ctx context.Context) *Group {
	g := &Group{}
	g.ctx, g.cancel = context.WithCancel(ctx)
	return g
}

// Context ends when the group's parent does, or a part failed, or Stop.
func (g *Group) Context() context.Context { return g.ctx }

// Go runs fn. An error it returns before the group's context ends is the
// group's error (the first one wins) and stops the group; fn must return
// when its context ends.
func (g *Group) Go(name string, fn func(context.Context) error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := fn(g.ctx); err != nil && g.ctx.Err() == nil {
			g.once.Do(func() { g.err = fmt.Errorf("%s: %w", name, err) })
			g.cancel()
		}
	}()
}

// Err is the error that stopped the group, once its context has ended; nil
// when it ended for any other reason.
func (g *Group) Err() error {
	select {
	case <-g.ctx.Done():
	default:
		return nil
	}
	g.once.Do(func() {}) // a failing part's assignment happens before this returns
	return g.err
}

// Stop ends the group's context and waits for every part to return.
func (g *Group) Stop() {
	g.cancel()
	g.wg.Wait()
}
