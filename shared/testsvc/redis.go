package testsvc

import (
	"bufio"
	"context"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// RedisBinary is Debian's redis-server.
const RedisBinary = "/usr/bin/redis-server"

// Redis is a running redis-server.
type Redis struct {
	*Server
	// URL is the server's address for go-redis and REDIS_URL:
	// redis://127.0.0.1:<port>. It shadows Server.URL, which is the same
	// port in http:// form.
	URL string
	// Addr is 127.0.0.1:<port>.
	Addr string
}

// StartRedis runs redis-server on a free loopback port with its working
// directory in a temporary folder and no persistence (no RDB snapshots, no
// append-only file), so Stop and Start simulate an outage that also loses
// the data, as a cache restart does, until t ends.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	s := start(t, serverSpec{
		name: "redis-server", bin: RedisBinary, install: "redis-server",
		configure: func(dir string, port int) ([]string, error) {
			return []string{
				"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
				"--save", "", "--appendonly", "no", "--dir", dir,
				"--protected-mode", "no", "--loglevel", "warning",
			}, nil
		},
		ready: func(ctx context.Context, base string) bool { return pingRedis(ctx, base) },
	})
	addr := strings.TrimPrefix(s.URL, "http://")
	return &Redis{Server: s, URL: "redis://" + addr, Addr: addr}
}

// pingRedis sends PING in the RESP inline form and wants +PONG.
func pingRedis(ctx context.Context, base string) bool {
	u, err := url.Parse(base)
	if err != nil {
		return false
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return false
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && strings.TrimSpace(line) == "+PONG"
}
