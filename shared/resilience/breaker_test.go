package resilience

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a controllable clock, safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var errRefused = New(ConnectionRefused, "dial registry.example.com")

// transitions records a breaker's transitions as "from>to".
type transitions struct {
	mu  sync.Mutex
	got []string
}

func (r *transitions) hook(from, to BreakerState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, from.String()+">"+to.String())
}

func (r *transitions) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// step is one action on a breaker followed by the state expected after it.
type step struct {
	record  []error       // outcomes recorded, in order
	advance time.Duration // then move the clock
	want    BreakerState
}

func TestBreakerCycle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		steps           []step
		wantTransitions []string
	}{
		{
			name: "opens after exactly five consecutive failures",
			steps: []step{
				{record: repeat(errRefused, 4), want: Closed},
				{record: repeat(errRefused, 1), want: Open},
			},
			wantTransitions: []string{"closed>open"},
		},
		{
			name: "a success in closed state resets the count",
			steps: []step{
				{record: append(repeat(errRefused, 4), nil), want: Closed},
				{record: repeat(errRefused, 4), want: Closed},
				{record: repeat(errRefused, 1), want: Open},
			},
			wantTransitions: []string{"closed>open"},
		},
		{
			name: "half-opens after exactly the open timeout",
			steps: []step{
				{record: repeat(errRefused, 5), advance: 59 * time.Second, want: Open},
				{advance: time.Second, want: HalfOpen},
			},
			wantTransitions: []string{"closed>open", "open>half-open"},
		},
		{
			name: "closes after three half-open successes",
			steps: []step{
				{record: repeat(errRefused, 5), advance: time.Minute, want: HalfOpen},
				{record: []error{nil, nil}, want: HalfOpen},
				{record: []error{nil}, want: Closed},
				{record: repeat(errRefused, 4), want: Closed}, // the failure count starts afresh
			},
			wantTransitions: []string{"closed>open", "open>half-open", "half-open>closed"},
		},
		{
			name: "a half-open failure re-opens and restarts the timeout",
			steps: []step{
				{record: repeat(errRefused, 5), advance: time.Minute, want: HalfOpen},
				{record: []error{nil, nil, New(Timeout, "no answer")}, advance: 59 * time.Second, want: Open},
				{advance: time.Second, want: HalfOpen},
			},
			wantTransitions: []string{"closed>open", "open>half-open", "half-open>open", "open>half-open"},
		},
		{
			name: "codes that say nothing about the remote neither count nor reset",
			steps: []step{
				{record: repeat(errRefused, 4), want: Closed},
				{record: []error{
					New(InvalidConfig, "bad url"),
					New(NotSupported, "no webhooks"),
					New(ResourceNotFound, "no such repository"),
					New(DestinationBlocked, "169.254.169.254 is blocked"),
					context.Canceled,
					fmt.Errorf("list tags: %w", context.Canceled),
				}, want: Closed},
				{record: repeat(errRefused, 1), want: Open},
			},
			wantTransitions: []string{"closed>open"},
		},
		{
			name: "uncoded errors and deadlines count as failures",
			steps: []step{
				{record: []error{errors.New("EOF"), context.DeadlineExceeded, New(AuthenticationFailed, "401"),
					New(RateLimited, "429"), New(UpstreamError, "502")}, want: Open},
			},
			wantTransitions: []string{"closed>open"},
		},
		{
			name: "results recorded while open are ignored",
			steps: []step{
				{record: repeat(errRefused, 5), want: Open},
				{record: []error{nil, nil, nil, errRefused}, advance: time.Minute, want: HalfOpen},
			},
			wantTransitions: []string{"closed>open", "open>half-open"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			b := NewBreaker(DefaultBreakerConfig(), clock.Now)
			var seen transitions
			b.OnStateChange(seen.hook)
			for i, s := range tc.steps {
				for _, err := range s.record {
					b.Record(err)
				}
				clock.Advance(s.advance)
				if got := b.State(); got != s.want {
					t.Fatalf("step %d: state = %s, want %s", i+1, got, s.want)
				}
			}
			if got := seen.list(); !slices.Equal(got, tc.wantTransitions) {
				t.Errorf("transitions = %v, want %v", got, tc.wantTransitions)
			}
		})
	}
}

func TestBreakerCountsFailuresByCode(t *testing.T) {
	t.Parallel()
	ignored := map[Code]bool{InvalidConfig: true, NotSupported: true, ResourceNotFound: true, DestinationBlocked: true}
	for _, c := range Codes {
		t.Run(string(c), func(t *testing.T) {
			t.Parallel()
			b := NewBreaker(BreakerConfig{FailureThreshold: 1}, newFakeClock().Now)
			b.Record(New(c, "wrapped: %s", c))
			want := Open
			if ignored[c] {
				want = Closed
			}
			if got := b.State(); got != want {
				t.Errorf("one %s with threshold 1: state = %s, want %s", c, got, want)
			}
		})
	}
}

func TestBreakerRefusesWhileOpen(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	b := NewBreaker(DefaultBreakerConfig(), clock.Now)
	calls := 0
	fn := func(context.Context) error { calls++; return errRefused }
	for range 5 {
		_ = b.Do(context.Background(), fn)
	}
	clock.Advance(42 * time.Second)

	err := b.Do(context.Background(), fn)
	if calls != 5 {
		t.Errorf("calls = %d, want 5: an open breaker must not call the remote", calls)
	}
	if CodeOf(err) != IntegrationUnhealthy || !errors.Is(err, ErrCircuitOpen) {
		t.Errorf("err = %v, want INTEGRATION_UNHEALTHY wrapping ErrCircuitOpen", err)
	}
	if !strings.Contains(err.Error(), "open") || !strings.Contains(err.Error(), "18s") {
		t.Errorf("message %q should say the circuit is open and half-opens in 18s", err)
	}

	clock.Advance(18 * time.Second)
	if err := b.Allow(); err != nil {
		t.Errorf("after the timeout Allow = %v, want nil (half-open trial)", err)
	}
}

func TestBreakerDoDropsResultsOfAnOlderState(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	b := NewBreaker(DefaultBreakerConfig(), clock.Now)
	release := make(chan struct{})
	started := make(chan struct{})
	done := make(chan error)
	go func() {
		// Allowed while closed, answers after the breaker has half-opened.
		done <- b.Do(context.Background(), func(context.Context) error {
			close(started)
			<-release
			return errRefused
		})
	}()
	<-started
	for range 5 {
		b.Record(errRefused)
	}
	clock.Advance(time.Minute)
	if got := b.State(); got != HalfOpen {
		t.Fatalf("state = %s, want half-open", got)
	}
	close(release)
	<-done
	if got := b.State(); got != HalfOpen {
		t.Errorf("state = %s, want half-open: a late failure from the closed state must not re-open", got)
	}
}

func TestBreakerConfigDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  BreakerConfig
		want BreakerConfig
	}{
		{name: "zero takes the defaults", cfg: BreakerConfig{}, want: BreakerConfig{5, 3, time.Minute}},
		{name: "set fields are kept", cfg: BreakerConfig{2, 1, time.Second}, want: BreakerConfig{2, 1, time.Second}},
		{name: "negative is replaced", cfg: BreakerConfig{-1, 0, -time.Second}, want: BreakerConfig{5, 3, time.Minute}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := NewBreaker(tc.cfg, nil).cfg; got != tc.want {
				t.Errorf("config = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestBreakerConcurrentUse(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	reg := NewBreakers(DefaultBreakerConfig(), clock.Now)
	var mu sync.Mutex
	changes := map[string]int{}
	reg.OnStateChange(func(id string, _, _ BreakerState) {
		mu.Lock()
		defer mu.Unlock()
		changes[id]++
	})
	outcomes := []error{nil, errRefused, errRefused, New(ResourceNotFound, "gone"), context.Canceled}

	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			id := fmt.Sprintf("int-%d", g%4)
			for i := range 500 {
				b := reg.Get(id)
				outcome := outcomes[(g+i)%len(outcomes)]
				if id == "int-3" {
					outcome = errRefused // so at least one breaker surely opens
				}
				_ = b.Do(context.Background(), func(context.Context) error { return outcome })
				switch i % 50 {
				case 0:
					clock.Advance(10 * time.Second)
				case 1:
					_ = reg.States()
				case 2:
					if g == 0 {
						reg.Remove(id)
					}
				}
			}
		})
	}
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	if changes["int-3"] == 0 {
		t.Error("int-3 only fails, yet its breaker never changed state")
	}
}

func TestBreakersRegistry(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	reg := NewBreakers(BreakerConfig{FailureThreshold: 1}, clock.Now)
	var seen []string
	reg.OnStateChange(func(id string, from, to BreakerState) { seen = append(seen, id+":"+from.String()+">"+to.String()) })

	a := reg.Get("a")
	if reg.Get("a") != a {
		t.Fatal("Get returned a new breaker for a known id")
	}
	a.Record(errRefused)
	reg.Get("b")
	if got, want := reg.States(), map[string]BreakerState{"a": Open, "b": Closed}; !maps.Equal(got, want) {
		t.Errorf("States = %v, want %v", got, want)
	}

	reg.Remove("a")
	if got := reg.Get("a").State(); got != Closed {
		t.Errorf("after Remove, Get(a) state = %s, want a fresh closed breaker", got)
	}
	if got, want := reg.States(), map[string]BreakerState{"a": Closed, "b": Closed}; !maps.Equal(got, want) {
		t.Errorf("States = %v, want %v", got, want)
	}
	if want := []string{"a:closed>open"}; !slices.Equal(seen, want) {
		t.Errorf("hook saw %v, want %v", seen, want)
	}
}

// One breaker per integration however often it changes: a newer revision
// replaces it with a closed one, an older revision (a check of a config
// that was just replaced) gets one the registry does not keep.
func TestBreakersAtRevision(t *testing.T) {
	t.Parallel()
	reg := NewBreakers(BreakerConfig{FailureThreshold: 1}, newFakeClock().Now)
	steps := []struct {
		name string
		act  func()
		want map[string]BreakerState
	}{
		{"revision 1 fails", func() { reg.At("a", 1).Record(errRefused) }, map[string]BreakerState{"a": Open}},
		{"revision 1 again is the same breaker", func() { reg.At("a", 1).Record(nil) }, map[string]BreakerState{"a": Open}},
		{"revision 2 starts closed in its place", func() { reg.At("a", 2) }, map[string]BreakerState{"a": Closed}},
		{"a late result of revision 1 trips nothing kept", func() { reg.At("a", 1).Record(errRefused) }, map[string]BreakerState{"a": Closed}},
		{"revisions 3 to 100 keep one entry", func() {
			for rev := uint64(3); rev <= 100; rev++ {
				reg.At("a", rev).Record(nil)
			}
		}, map[string]BreakerState{"a": Closed}},
		{"a removed integration has none", func() { reg.Remove("a") }, map[string]BreakerState{}},
	}
	// Steps build on each other, so they run in order.
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.act()
			if got := reg.States(); !maps.Equal(got, s.want) {
				t.Errorf("States = %v, want %v", got, s.want)
			}
		})
	}
}
