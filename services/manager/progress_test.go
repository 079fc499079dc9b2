package manager

import "testing"

// TestProgressWakesOnlyTheWaitersItReached: an advance closes the channels
// of the calls waiting for a sequence at or below it, no other; a call
// that stops waiting is forgotten.
func TestProgressWakesOnlyTheWaitersItReached(t *testing.T) {
	var p progress
	closed := func(c <-chan struct{}) bool {
		select {
		case <-c:
			return true
		default:
			return false
		}
	}
	w5, stop5 := p.wait(5)
	w7, stop7 := p.wait(7)
	w9, stop9 := p.wait(9)
	defer stop5()
	defer stop7()
	p.advance(6)
	if !closed(w5) || closed(w7) || closed(w9) {
		t.Fatalf("after 6: 5 %v, 7 %v, 9 %v; want only 5 woken", closed(w5), closed(w7), closed(w9))
	}
	stop9()
	if len(p.waiters) != 1 || p.waiters[0].seq != 7 {
		t.Fatalf("waiters %+v, want only 7's", p.waiters)
	}
	p.advance(4) // behind: changes nothing
	if closed(w7) {
		t.Fatal("an advance behind the progress woke a waiter")
	}
	p.advance(9)
	if !closed(w7) || len(p.waiters) != 0 {
		t.Fatalf("after 9: 7 woken %v, waiters %+v", closed(w7), p.waiters)
	}
	if w, stop := p.wait(3); !closed(w) {
		t.Fatal("waiting for an announced sequence does not return at once")
	} else {
		stop()
	}
}
