package testsvc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
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
	return startRedis(t, "redis-server", "")
}

// startRedis runs one redis-server named name (its log is <name>.log) with
// the flags of StartRedis and then extra; a password, if any, is its
// requirepass, and the readiness probe authenticates with it. The server gets an (empty) config
// file, so CONFIG REWRITE works: Sentinel rewrites the configuration of the
// servers it promotes or repoints.
func startRedis(t testing.TB, name, password string, extra ...string) *Redis {
	t.Helper()
	s := start(t, serverSpec{
		name: name, bin: RedisBinary, install: "redis-server",
		configure: func(dir string, port int) ([]string, error) {
			conf := filepath.Join(dir, name+".conf")
			if err := os.WriteFile(conf, nil, 0o600); err != nil {
				return nil, err
			}
			args := []string{
				conf,
				"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
				"--save", "", "--appendonly", "no", "--dir", dir,
				"--protected-mode", "no", "--loglevel", "warning",
			}
			if password != "" {
				args = append(args, "--requirepass", password)
			}
			return append(args, extra...), nil
		},
		ready: readyRedis(password),
	})
	return redisAt(s)
}

// readyRedis is the readiness probe of a Redis or Sentinel: PING, after
// AUTH when it has a password.
func readyRedis(password string) func(ctx context.Context, base string) bool {
	if password == "" {
		return pingRedis
	}
	return func(ctx context.Context, base string) bool {
		out, err := command(ctx, strings.TrimPrefix(base, "http://"), password, "PING")
		return err == nil && out == "PONG\n"
	}
}

func redisAt(s *Server) *Redis {
	addr := strings.TrimPrefix(s.URL, "http://")
	return &Redis{Server: s, URL: "redis://" + addr, Addr: addr}
}

// SentinelMaster is the name the sentinel of StartRedisSentinel monitors
// the primary under.
const SentinelMaster = "inthub"

// SentinelAuth are the passwords of StartRedisSentinel: Password is the
// data nodes' requirepass (and the replica's and the sentinel's
// masterauth / auth-pass), SentinelPassword the sentinel's requirepass.
// Empty means none.
type SentinelAuth struct {
	Password         string
	SentinelPassword string
}

// RedisSentinel is a primary, one replica of it and one sentinel
// monitoring both, each a redis-server on a free loopback port with its own
// temporary directory.
type RedisSentinel struct {
	Primary, Replica *Redis
	// Sentinel is `redis-server --sentinel`; its Addr is what clients ask
	// for the primary's address.
	Sentinel *Redis
}

// StartRedisSentinel starts the primary, the replica (replicaof the
// primary, waited for until its link is up), then the sentinel (quorum 1,
// the primary down after 1s, so a failover takes a few seconds), and
// waits until the sentinel knows the replica: a failover then has a
// replica to promote.
func StartRedisSentinel(t testing.TB, auth SentinelAuth) *RedisSentinel {
	t.Helper()
	var masterauth []string
	if auth.Password != "" {
		// The primary needs it too: after a failover it is a replica of
		// the promoted one.
		masterauth = []string{"--masterauth", auth.Password}
	}
	primary := startRedis(t, "redis-primary", auth.Password, masterauth...)
	host, port, _ := net.SplitHostPort(primary.Addr)
	replica := startRedis(t, "redis-replica", auth.Password, append(masterauth, "--replicaof", host, port)...)
	waitFor(t, "the replica's link to the primary", func(ctx context.Context) bool {
		info, err := command(ctx, replica.Addr, auth.Password, "INFO", "replication")
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
	s := start(t, serverSpec{
		name: "redis-sentinel", bin: RedisBinary, install: "redis-server",
		configure: func(dir string, sport int) ([]string, error) {
			// Sentinel rewrites its config file (what it learnt), so it
			// must be a file of its own, writable.
			conf := filepath.Join(dir, "sentinel.conf")
			body := fmt.Sprintf("port %d\nbind 127.0.0.1\nprotected-mode no\ndir %s\nloglevel notice\n"+
				"sentinel monitor %s %s %s 1\n"+
				"sentinel down-after-milliseconds %[3]s 1000\n"+
				"sentinel failover-timeout %[3]s 10000\n"+
				"sentinel parallel-syncs %[3]s 1\n", sport, dir, SentinelMaster, host, port)
			if auth.Password != "" {
				body += fmt.Sprintf("sentinel auth-pass %s %s\n", SentinelMaster, auth.Password)
			}
			if auth.SentinelPassword != "" {
				body += fmt.Sprintf("requirepass %s\n", auth.SentinelPassword)
			}
			if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
				return nil, err
			}
			return []string{conf, "--sentinel"}, nil
		},
		ready: readyRedis(auth.SentinelPassword),
	})
	sentinel := redisAt(s)
	waitFor(t, "the sentinel to know the replica", func(ctx context.Context) bool {
		out, err := command(ctx, sentinel.Addr, auth.SentinelPassword, "SENTINEL", "REPLICAS", SentinelMaster)
		return err == nil && strings.Contains(out, replica.Addr[strings.LastIndexByte(replica.Addr, ':')+1:])
	})
	return &RedisSentinel{Primary: primary, Replica: replica, Sentinel: sentinel}
}

// waitFor polls cond until it holds or readyTimeout passes (then fails t).
func waitFor(t testing.TB, what string, cond func(ctx context.Context) bool) {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		ok := cond(ctx)
		cancel()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testsvc: waited %s for %s", readyTimeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// command sends one command (RESP array of bulk strings) to the Redis or
// Sentinel at addr, after AUTH password if not empty, and returns its reply
// flattened to text: enough for the helper to look for a word in INFO or
// SENTINEL answers without a client library.
func command(ctx context.Context, addr, password string, args ...string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	br := bufio.NewReader(conn)
	if password != "" {
		if _, err := conn.Write(encodeCommand("AUTH", password)); err != nil {
			return "", err
		}
		var ok strings.Builder
		if err := readReply(br, &ok); err != nil {
			return "", errors.New("AUTH refused") // never the password
		}
	}
	if _, err := conn.Write(encodeCommand(args...)); err != nil {
		return "", err
	}
	var out strings.Builder
	if err := readReply(br, &out); err != nil {
		return "", err
	}
	return out.String(), nil
}

// encodeCommand is a command as a RESP array of bulk strings.
func encodeCommand(args ...string) []byte {
	req := "*" + strconv.Itoa(len(args)) + "\r\n"
	for _, a := range args {
		req += "$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n"
	}
	return []byte(req)
}

// readReply reads one RESP2 reply into out (arrays element by element).
func readReply(r *bufio.Reader, out *strings.Builder) error {
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return errors.New("empty reply line")
	}
	switch line[0] {
	case '+', ':':
		out.WriteString(line[1:] + "\n")
	case '-':
		return errors.New(line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		out.Write(buf[:n])
		out.WriteString("\n")
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return err
		}
		for range n {
			if err := readReply(r, out); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
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

// RedisCluster is a Redis Cluster of masters without replicas.
type RedisCluster struct {
	Nodes []*Redis
}

// Addrs are the nodes' host:port, for go-redis's cluster client.
func (c *RedisCluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr
	}
	return out
}

// clusterSlots is the number of hash slots of a Redis Cluster.
const clusterSlots = 16384

// StartRedisCluster starts n cluster-enabled redis-servers, gives each an
// equal range of the 16384 slots (CLUSTER ADDSLOTSRANGE), has the first
// meet the others (CLUSTER MEET) and waits until every node reports
// cluster_state:ok and knows all n: without redis-cli, as Debian's
// redis-server alone provides.
func StartRedisCluster(t testing.TB, n int) *RedisCluster {
	t.Helper()
	c := &RedisCluster{}
	for i := range n {
		c.Nodes = append(c.Nodes, startRedis(t, fmt.Sprintf("redis-cluster-%d", i), "",
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	for i, node := range c.Nodes {
		first, last := i*clusterSlots/n, (i+1)*clusterSlots/n-1
		if _, err := command(ctx, node.Addr, "", "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(first), strconv.Itoa(last)); err != nil {
			t.Fatalf("testsvc: CLUSTER ADDSLOTSRANGE %d %d on %s: %v", first, last, node.Addr, err)
		}
		if i == 0 {
			continue
		}
		host, port, _ := net.SplitHostPort(node.Addr)
		if _, err := command(ctx, c.Nodes[0].Addr, "", "CLUSTER", "MEET", host, port); err != nil {
			t.Fatalf("testsvc: CLUSTER MEET %s: %v", node.Addr, err)
		}
	}
	for _, node := range c.Nodes {
		waitFor(t, "cluster_state:ok on "+node.Addr, func(ctx context.Context) bool {
			info, err := command(ctx, node.Addr, "", "CLUSTER", "INFO")
			return err == nil && strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d\r", n))
		})
	}
	return c
}
