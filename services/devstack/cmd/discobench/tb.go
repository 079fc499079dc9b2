package main

import (
	"fmt"
	"os"
	"testing"
)

// benchTB lets the bench start testsvc's real servers, which take a
// testing.TB, outside a test: TempDir and Cleanup work, a fatal error
// unwinds to run, which cleans up. Methods testsvc does not call are those of
// the nil embedded interface and panic, which run also turns into an error.
type benchTB struct {
	testing.TB
	cleanups []func()
	failed   bool
}

// fatal is what Fatalf panics with.
type fatal struct{ msg string }

// run calls fn, then every cleanup in reverse order; a fatal error of
// fn becomes its error.
func (b *benchTB) run(fn func() error) (err error) {
	defer func() {
		for i := len(b.cleanups) - 1; i >= 0; i-- {
			b.cleanups[i]()
		}
	}()
	defer func() {
		if p := recover(); p != nil {
			if f, ok := p.(fatal); ok {
				err = fmt.Errorf("%s", f.msg)
				return
			}
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return fn()
}

func (b *benchTB) Helper()      {}
func (b *benchTB) Name() string { return "discobench" }
func (b *benchTB) Failed() bool { return b.failed }

func (b *benchTB) Cleanup(f func()) { b.cleanups = append(b.cleanups, f) }

func (b *benchTB) TempDir() string {
	dir, err := os.MkdirTemp("", "discobench-")
	if err != nil {
		b.Fatalf("temp dir: %v", err)
	}
	b.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func (b *benchTB) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

func (b *benchTB) Errorf(format string, args ...any) {
	b.failed = true
	b.Logf(format, args...)
}

func (b *benchTB) Fatalf(format string, args ...any) {
	b.failed = true
	panic(fatal{msg: fmt.Sprintf(format, args...)})
}

func (b *benchTB) Fatal(args ...any) { b.Fatalf("%s", fmt.Sprint(args...)) }
