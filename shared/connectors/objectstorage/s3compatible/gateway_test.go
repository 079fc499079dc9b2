package s3compatible

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/versity/versitygw/auth"
	"github.com/versity/versitygw/backend/meta"
	"github.com/versity/versitygw/backend/posix"
	"github.com/versity/versitygw/s3api"
	"github.com/versity/versitygw/s3api/middlewares"
)

// The tests run against VersityGW, a real S3 server (Apache-2.0) embedded
// in-process: its s3api front end verifies every SigV4 signature and
// answers with S3's own error codes, over its posix backend storing buckets
// as directories. The posix backend chdirs into its root and resolves
// buckets relative to it, so one backend serves the whole test binary
// (TestMain); each test starts its own gateway (port, root credentials) on
// it and uses its own bucket names.
var storage *posix.Posix

func TestMain(m *testing.M) { os.Exit(runWithStorage(m)) }

func runWithStorage(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3 gateway storage:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "s3compatible-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3 gateway storage:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	defer os.Chdir(wd) //nolint:errcheck // best effort before the removal above
	root, sidecar := dir+"/root", dir+"/meta"
	for _, d := range []string{root, sidecar} {
		if err := os.Mkdir(d, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "s3 gateway storage:", err)
			return 1
		}
	}
	// Metadata (ACLs, owners) go in xattrs where the file system has them,
	// else in a sidecar directory, as versitygw's own CLI decides.
	var ms meta.MetadataStorer = meta.XattrMeta{}
	opts := posix.PosixOpts{}
	if (meta.XattrMeta{}).Test(root) != nil {
		sc, err := meta.NewSideCar(sidecar)
		if err != nil {
			fmt.Fprintln(os.Stderr, "s3 gateway storage:", err)
			return 1
		}
		ms, opts.SideCarDir = sc, sidecar
	}
	storage, err = posix.New(root, ms, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3 gateway storage:", err)
		return 1
	}
	defer storage.Shutdown()
	return m.Run()
}

// gateway is one running S3 server of a test.
type gateway struct {
	URL                  string
	AccessKey, SecretKey string
	srv                  *s3api.S3ApiServer
	done                 chan error
	stopped              bool
}

// startGateway starts an S3 server on a free loopback port with fresh root
// credentials; t.Cleanup stops it.
func startGateway(t *testing.T) *gateway {
	t.Helper()
	var lastErr error
	for range 5 { // the port is picked, freed, then bound: another bind may win in between
		g, err := tryGateway()
		if err == nil {
			t.Cleanup(func() { g.Stop(t) })
			return g
		}
		lastErr = err
	}
	t.Fatalf("start the S3 gateway: %v", lastErr)
	return nil
}

func tryGateway() (*gateway, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	g := &gateway{
		URL:       "http://" + addr,
		AccessKey: "AKIA" + strings.ToUpper(rand.Text()[:16]),
		SecretKey: rand.Text() + rand.Text(),
		done:      make(chan error, 1),
	}
	root := auth.Account{Access: g.AccessKey, Secret: g.SecretKey, Role: auth.RoleAdmin}
	ready := make(chan struct{})
	g.srv, err = s3api.New(storage, middlewares.RootUserConfig{Access: root.Access, Secret: root.Secret},
		DefaultRegion, auth.NewIAMServiceSingle(root), nil, nil, nil, nil,
		s3api.WithQuiet(), s3api.WithConcurrencyLimiter(256, 256), s3api.WithMpMaxParts(10000),
		s3api.WithOnListen(func() { close(ready) }))
	if err != nil {
		return nil, err
	}
	go func() { g.done <- g.srv.ServeMultiPort([]string{addr}) }()
	select {
	case <-ready:
		return g, nil
	case err := <-g.done:
		return nil, err
	case <-time.After(10 * time.Second):
		g.srv.ShutDown() //nolint:errcheck // giving up anyway
		return nil, errors.New("the gateway did not start listening within 10s")
	}
}

// Stop shuts the server down; the port then refuses connections.
func (g *gateway) Stop(t *testing.T) {
	t.Helper()
	if g.stopped {
		return
	}
	g.stopped = true
	if err := g.srv.ShutDown(); err != nil {
		t.Errorf("stop the S3 gateway: %v", err)
	}
	<-g.done
}

// admin returns an SDK client with the gateway's root credentials, for
// setting up and inspecting what the connector sees.
func (g *gateway) admin() *s3.Client {
	return s3.New(s3.Options{
		Region: DefaultRegion, BaseEndpoint: aws.String(g.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(g.AccessKey, g.SecretKey, ""),
		HTTPClient:  &http.Client{Timeout: 10 * time.Second},
		Retryer:     aws.NopRetryer{},
	})
}

// createBucket makes a bucket with a name unique to the test.
func (g *gateway) createBucket(t *testing.T) string {
	t.Helper()
	name := "b-" + strings.ToLower(rand.Text()[:12])
	if _, err := g.admin().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	return name
}
