package testsvc

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// BlackboxBinary is Debian's build of Prometheus' blackbox_exporter, the
// peer schedbench compares the hub's health checks with.
const BlackboxBinary = "/usr/bin/prometheus-blackbox-exporter"

// BlackboxModule is the module RunBlackbox configures: an HTTP GET that
// expects a 2xx, as a registry's /v2/ check does.
const BlackboxModule = "http_2xx"

// RunBlackbox starts blackbox_exporter with its files in dir, outside a
// test: GET <URL>/probe?module=http_2xx&target=... probes once. The caller
// stops it with Close.
func RunBlackbox(dir string) (*Server, error) {
	return runOutsideTest(serverSpec{
		name: "blackbox-exporter", bin: BlackboxBinary, install: "prometheus-blackbox-exporter",
		configure: func(dir string, port int) ([]string, error) {
			config := "modules:\n  " + BlackboxModule + ":\n    prober: http\n    timeout: 10s\n    http:\n      method: GET\n      preferred_ip_protocol: ip4\n"
			path := filepath.Join(dir, "blackbox.yml")
			if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
				return nil, err
			}
			return []string{"--config.file=" + path, "--web.listen-address=127.0.0.1:" + strconv.Itoa(port), "--log.level=warn"}, nil
		},
		ready: func(ctx context.Context, base string) bool {
			return probe(ctx, base+"/-/healthy", "", "") == http.StatusOK
		},
	}, dir)
}

// ProcessCPU is the user+system CPU time process pid has used, from
// /proc/<pid>/stat (Linux only).
func ProcessCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(b)
}

// parseStatCPU reads utime+stime (fields 14 and 15, in clock ticks of
// 1/100 s on every Linux ABI Go supports) of a /proc/<pid>/stat line, in
// seconds. The command name (field 2) may hold spaces, so fields are
// counted after its closing parenthesis.
func parseStatCPU(stat []byte) (float64, error) {
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc stat line")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): utime is field 14, f[11]; stime f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed /proc stat line")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed /proc stat times")
	}
	return float64(ut+st) / 100, nil
}

// BlackboxVersion is the exporter's version line, "unknown" if it cannot
// be read.
func BlackboxVersion() string {
	out, err := exec.Command(BlackboxBinary, "--version").CombinedOutput()
	if err != nil {
		return "unknown"
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}
