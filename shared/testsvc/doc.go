// Package testsvc starts real servers (Debian's docker-registry, prometheus
// and redis-server, also as a primary, replica and sentinel or as a Redis
// Cluster) as child processes for tests: each on a free loopback port,
// with its files in t.TempDir(), stopped by t.Cleanup, never a shared global
// server. Stop and Start simulate an outage and the recovery from it on the
// same port with the same storage.
//
// The binaries come from Debian packages that `make test` installs through
// scripts/test-deps.sh; a missing binary fails the test, it is never skipped.
package testsvc
