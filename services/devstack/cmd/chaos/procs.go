package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// readyTimeout bounds one start of a process until it says it is ready.
	readyTimeout = 60 * time.Second
	// stopGrace is how long a process may take to exit after SIGTERM.
	stopGrace = 10 * time.Second
	// restartDelay is the orchestrator's first pause before it restarts a
	// process that exited on its own (as a Kubernetes or systemd restart
	// policy); it doubles with each failed start up to maxRestartDelay.
	restartDelay    = time.Second
	maxRestartDelay = 8 * time.Second
	// maxUnplannedRestarts bounds the restarts of one process in a row.
	maxUnplannedRestarts = 30
	// logTail is how much of a log an error quotes.
	logTail = 2048
)

// readiness tells when a started process serves: probe, when set, is polled;
// otherwise the process is ready once its stderr has a line containing line.
type readiness struct {
	probe func(ctx context.Context) bool
	line  string
}

// proc is one child process the tool starts, kills and restarts. It runs in
// a process group of its own so a kill reaches whatever it started, and it
// dies with the tool (Pdeathsig) even when the tool itself is killed.
type proc struct {
	name    string
	bin     string
	args    []string
	env     []string
	dir     string
	logPath string
	ready   readiness

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has exited
	planned bool          // the running process's exit is the tool's doing
	exits   []time.Time   // exits nobody asked for
	// restarts counts the group's restarts of this process since it was
	// last ready.
	restarts int
	// onExit, when set, is called (without mu) after an unplanned exit.
	onExit func(p *proc)
}

// start runs the process and waits until it is ready, it exits, or ctx ends.
func (p *proc) start(ctx context.Context) error {
	p.mu.Lock()
	if p.cmd != nil {
		p.mu.Unlock()
		return fmt.Errorf("%s: already running", p.name)
	}
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		p.mu.Unlock()
		return fmt.Errorf("%s: log file: %w", p.name, err)
	}
	seen := make(chan struct{})
	cmd := exec.Command(p.bin, p.args...)
	cmd.Dir, cmd.Env = p.dir, p.env
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if p.ready.line != "" {
		cmd.Stderr = &lineWatch{w: logFile, want: p.ready.line, seen: seen}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		p.mu.Unlock()
		return fmt.Errorf("%s: start: %w", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.planned = cmd, done, false
	p.mu.Unlock()
	go func() {
		_ = cmd.Wait() // a killed process's exit status says nothing
		logFile.Close()
		// Bookkeeping before done: whoever waits on done may start the
		// process again at once.
		p.mu.Lock()
		unplanned := !p.planned && p.cmd == cmd
		if p.cmd == cmd {
			p.cmd = nil
		}
		if unplanned {
			p.exits = append(p.exits, time.Now())
		}
		hook := p.onExit
		p.mu.Unlock()
		close(done)
		if unplanned && hook != nil {
			hook(p)
		}
	}()
	if err := p.waitReady(ctx, done, seen); err != nil {
		p.mu.Lock()
		if p.cmd == cmd {
			p.planned = true // the tool gives up on this start: no restart
		}
		p.mu.Unlock()
		p.signal(syscall.SIGKILL)
		<-done
		return fmt.Errorf("%s: %w\nlast lines of %s:\n%s", p.name, err, p.logPath, p.tail())
	}
	p.mu.Lock()
	p.restarts = 0
	p.mu.Unlock()
	return nil
}

// errExited is a start that failed because the process exited on its own;
// its exit was recorded and the group's restart hook has fired.
var errExited = errors.New("exited before it was ready")

// waitReady polls the probe (or waits for the ready line) until it says so,
// the process exits, ctx ends or readyTimeout passes.
func (p *proc) waitReady(ctx context.Context, exited, seen <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if p.ready.probe != nil {
			attempt, stop := context.WithTimeout(ctx, time.Second)
			ok := p.ready.probe(attempt)
			stop()
			if ok {
				return nil
			}
		}
		select {
		case <-seen:
			return nil
		case <-exited:
			return errExited
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %w", readyTimeout, ctx.Err())
		case <-tick.C:
		}
	}
}

// kill sends sig to the process group and waits for the exit; the exit is
// planned, so no restart follows. A process that outlives stopGrace gets
// SIGKILL.
func (p *proc) kill(sig syscall.Signal) {
	p.mu.Lock()
	if p.cmd == nil {
		p.mu.Unlock()
		return
	}
	p.planned = true
	done := p.done
	p.mu.Unlock()
	p.signal(sig)
	select {
	case <-done:
	case <-time.After(stopGrace):
		p.signal(syscall.SIGKILL)
		<-done
	}
}

// signal sends sig to the running process's group, if any.
func (p *proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && p.cmd.Process != nil {
		_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	}
}

// unplannedExits returns when the process exited on its own.
func (p *proc) unplannedExits() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.exits...)
}

// tail returns the end of the process's log.
func (p *proc) tail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > logTail {
		b = b[len(b)-logTail:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// lineWatch copies a process's stderr to w and closes seen at the first
// line containing want (slog writes one line per Write).
type lineWatch struct {
	w    *os.File
	want string
	seen chan struct{}
	once sync.Once
	buf  []byte
}

// Write implements io.Writer.
func (l *lineWatch) Write(b []byte) (int, error) {
	l.buf = append(l.buf, b...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		if strings.Contains(string(l.buf[:i]), l.want) {
			l.once.Do(func() { close(l.seen) })
		}
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 64<<10 { // a line that long is not the ready line
		l.buf = l.buf[:0]
	}
	return l.w.Write(b)
}

// group is every process of one scenario: it restarts processes that exit
// on their own, as an orchestrator would, and stops them all at the end.
type group struct {
	mu       sync.Mutex
	procs    []*proc
	stopping bool
	ctx      context.Context
	errs     []string
	counts   map[string]int
}

func newGroup(ctx context.Context) *group { return &group{ctx: ctx} }

// add registers p and makes the group restart it after unplanned exits.
func (g *group) add(p *proc) *proc {
	g.mu.Lock()
	defer g.mu.Unlock()
	p.onExit = g.restart
	g.procs = append(g.procs, p)
	return p
}

// restart starts p again after a pause that doubles from restartDelay to
// maxRestartDelay with each start in a row that fails, unless the group is
// stopping or p failed maxUnplannedRestarts times in a row. A start that
// exits before it is ready comes back here through the exit hook; one that
// is not ready in time is retried from here.
func (g *group) restart(p *proc) {
	p.mu.Lock()
	p.restarts++
	n := p.restarts
	p.mu.Unlock()
	if n > maxUnplannedRestarts {
		g.note(fmt.Sprintf("%s failed to start %d times in a row; not restarted again", p.name, maxUnplannedRestarts))
		return
	}
	delay := min(restartDelay<<min(n-1, 10), maxRestartDelay)
	go func() {
		select {
		case <-g.ctx.Done():
			return
		case <-time.After(delay):
		}
		if g.isStopping() {
			return
		}
		err := p.start(g.ctx)
		if err == nil || g.isStopping() || errors.Is(err, errExited) {
			return
		}
		g.note(fmt.Sprintf("restart of %s failed: %s", p.name, firstLine(err.Error())))
		g.restart(p)
	}()
}

// note records something that went wrong outside the audit; a repeated
// note is counted, not repeated.
func (g *group) note(s string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.counts == nil {
		g.counts = map[string]int{}
	}
	if g.counts[s] == 0 {
		g.errs = append(g.errs, s)
	}
	g.counts[s]++
}

// notes returns the notes, each with its count when above one.
func (g *group) notes() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]string, len(g.errs))
	for i, s := range g.errs {
		out[i] = s
		if n := g.counts[s]; n > 1 {
			out[i] = fmt.Sprintf("%s (%d times)", s, n)
		}
	}
	return out
}

func (g *group) isStopping() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stopping
}

// stop ends every process: SIGTERM to each process group at once, SIGKILL
// to those still running after stopGrace.
func (g *group) stop() {
	g.mu.Lock()
	g.stopping = true
	procs := append([]*proc(nil), g.procs...)
	g.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.kill(syscall.SIGTERM)
		}()
	}
	wg.Wait()
}

// freePorts asks the kernel for n distinct free loopback ports: every
// listener stays open until all are picked, so none is handed out twice.
func freePorts(n int) ([]int, error) {
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		defer l.Close()
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
