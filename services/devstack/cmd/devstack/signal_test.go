package main

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets a test run this very binary as the devstack command
// (INTHUB_TEST_RUN_MAIN=1), so the Ctrl-C test stops a real process by a
// real signal.
func TestMain(m *testing.M) {
	if os.Getenv("INTHUB_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestCtrlCIsACleanStop: `make run` stopped by Ctrl-C (SIGINT, or SIGTERM)
// exits 0 after its graceful shutdown, so make reports no "Error 1"
// (issue 19); it says the hub stopped.
func TestCtrlCIsACleanStop(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "INTHUB_TEST_RUN_MAIN=1", "INTHUB_ADDR=127.0.0.1:0", "METRICS_ADDR=off",
				"INTHUB_DATA_DIR="+filepath.Join(dir, "data"), "INTHUB_NATS_PORT=0", "INTHUB_LOG_FILE="+filepath.Join(dir, "devstack.log"))
			for _, k := range []string{"NATS_URL", "REDIS_URL"} {
				cmd.Env = append(cmd.Env, k+"=")
			}
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := make(chan string, 16)
			go func() {
				sc := bufio.NewScanner(out)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var printed []string
			for listening := false; !listening; {
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatalf("the hub ended before listening: %q, stderr %q", printed, stderr.String())
					}
					printed = append(printed, l)
					listening = strings.Contains(l, "listening on")
				case <-ctx.Done():
					_ = cmd.Process.Kill()
					t.Fatalf("no listening line within 60s: %q", printed)
				}
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			for l := range lines {
				printed = append(printed, l)
			}
			err = cmd.Wait()
			var exit *exec.ExitError
			if errors.As(err, &exit) || err != nil {
				t.Fatalf("after %s: %v (stdout %q, stderr %q), want exit 0", sig, err, printed, stderr.String())
			}
			if last := printed[len(printed)-1]; !strings.Contains(last, "stopped") {
				t.Errorf("last line %q, want the hub to say it stopped", last)
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr %q, want nothing on a clean stop", stderr.String())
			}
		})
	}
}
