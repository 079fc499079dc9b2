package testsvc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// readyTimeout bounds a server's start; Prometheus replaying a WAL after
	// a restart is the slowest case and takes well under a second.
	readyTimeout = 30 * time.Second
	// stopGrace is how long a server may take to exit after SIGTERM.
	stopGrace = 10 * time.Second
	// startAttempts covers the race between picking a free port and the
	// child binding it: another process may take the port in between.
	startAttempts = 3
	logTail       = 4096
)

// Server is a real server running as a child process of the test binary.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:<port>.
	URL string
	// Dir is the server's private directory (config, storage, log).
	Dir string

	name    string
	bin     string
	args    []string
	logPath string
	// ready reports whether the server answers as it should once started.
	ready func(ctx context.Context, base string) bool

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// serverSpec describes how to run one kind of server.
type serverSpec struct {
	name    string
	bin     string
	install string // the Debian package providing bin
	// configure writes the config files for port and returns the arguments.
	configure func(dir string, port int) ([]string, error)
	ready     func(ctx context.Context, base string) bool
}

// start runs spec on a free port until t ends.
func start(t testing.TB, spec serverSpec) *Server {
	t.Helper()
	bin := requireBinary(t, spec.bin, spec.install)
	s := &Server{name: spec.name, bin: bin, Dir: t.TempDir(), ready: spec.ready}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("testsvc: stop %s: %v", s.name, err)
		}
		if t.Failed() {
			t.Logf("testsvc: last lines of the %s log:\n%s", s.name, s.tail())
		}
	})
	if err := s.launch(spec); err != nil {
		t.Fatalf("testsvc: %v", err)
	}
	return s
}

// launch configures and runs s on a free port, trying again when another
// process took the port in between.
func (s *Server) launch(spec serverSpec) error {
	s.logPath = filepath.Join(s.Dir, spec.name+".log")
	var lastErr error
	for range startAttempts {
		port, err := freePort()
		if err != nil {
			return err
		}
		if s.args, err = spec.configure(s.Dir, port); err != nil {
			return fmt.Errorf("configure %s: %w", s.name, err)
		}
		s.URL = "http://127.0.0.1:" + strconv.Itoa(port)
		if lastErr = s.run(); lastErr == nil {
			return nil
		}
	}
	return fmt.Errorf("start %s: %w\nlast lines of its log:\n%s", s.name, lastErr, s.tail())
}

// runOutsideTest starts spec with its files in dir, for a program that is
// not a test (a benchmark); the caller stops it with Close.
func runOutsideTest(spec serverSpec, dir string) (*Server, error) {
	if _, err := os.Stat(spec.bin); err != nil {
		return nil, fmt.Errorf("%s is not installed: run `make test-deps` (apt-get install %s)", spec.bin, spec.install)
	}
	s := &Server{name: spec.name, bin: spec.bin, Dir: dir, ready: spec.ready}
	if err := s.launch(spec); err != nil {
		return nil, err
	}
	return s, nil
}

// Close stops a server started outside a test.
func (s *Server) Close() error { return s.stop() }

// Pid is the server's process id, 0 while it is stopped: a benchmark reads
// the server's CPU time from /proc/<pid>/stat.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// requireBinary returns the path of bin or fails the test: a missing server
// must never turn into a silently skipped test.
func requireBinary(t testing.TB, bin, pkg string) string {
	t.Helper()
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("testsvc: %s is not installed: run `make test-deps` (`make test` runs it too; scripts/test-deps.sh runs apt-get install %s)", bin, pkg)
	}
	return bin
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start restarts a stopped server on the same port with the same files.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if err := s.run(); err != nil {
		t.Fatalf("testsvc: restart %s: %v\nlast lines of its log:\n%s", s.name, err, s.tail())
	}
}

// Stop stops the server; its port refuses connections until Start.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if err := s.stop(); err != nil {
		t.Fatalf("testsvc: stop %s: %v", s.name, err)
	}
}

// run starts the process and waits until it is ready or has exited.
func (s *Server) run() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("already running")
	}
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child holds its own descriptor
	cmd := exec.Command(s.bin, s.args...)
	cmd.Dir = s.Dir
	// A clean environment: REGISTRY_* variables would override the config.
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + s.Dir}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit status of a server we stop says nothing
		close(done)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := waitReady(ctx, done, s.URL, s.ready); err != nil {
		_ = cmd.Process.Kill()
		<-done
		return err
	}
	// What answered may be another process that took the port between
	// freePort and the child's bind (the child then fails to bind and
	// exits): a test would talk to someone else's server, as a registry
	// test once did, refused by the other registry's token auth. Only a
	// port the child itself listens on counts as started.
	if err := s.ownsPort(cmd.Process.Pid); err != nil {
		_ = cmd.Process.Kill()
		<-done
		return err
	}
	s.cmd, s.done = cmd, done
	return nil
}

// ownsPort checks that process pid listens on the port of s.URL.
func (s *Server) ownsPort(pid int) error {
	u, err := url.Parse(s.URL)
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		return fmt.Errorf("the port of %s: %w", s.URL, err)
	}
	ok, err := listensOn(pid, port)
	switch {
	case err != nil:
		return fmt.Errorf("which process listens on port %d: %w", port, err)
	case !ok:
		return fmt.Errorf("another process answers on port %d", port)
	}
	return nil
}

// waitReady polls the server until ready says so, the process exits or ctx
// ends. Polling is for readiness only; no test times anything with it.
func waitReady(ctx context.Context, exited <-chan struct{}, base string, ready func(context.Context, string) bool) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		attempt, cancel := context.WithTimeout(ctx, time.Second)
		ok := ready(attempt, base)
		cancel()
		if ok {
			return nil
		}
		select {
		case <-exited:
			return errors.New("the process exited before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s", readyTimeout)
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM, then SIGKILL if the process outlives stopGrace.
func (s *Server) stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-done:
		return nil
	case <-time.After(stopGrace):
	}
	_ = cmd.Process.Kill()
	<-done
	return fmt.Errorf("did not exit within %s of SIGTERM; killed", stopGrace)
}

// tail returns the end of the server's log.
func (s *Server) tail() string {
	b, err := os.ReadFile(s.logPath)
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

// probe sends a GET and returns the status, or 0 when nothing answered.
func probe(ctx context.Context, rawURL, user, password string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return 0
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// probeClient never reuses connections: a restarted server must be probed
// on a fresh one.
var probeClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
