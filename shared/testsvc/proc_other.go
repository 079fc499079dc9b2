//go:build !linux

package testsvc

import "syscall"

// sysProcAttr has no parent-death signal outside Linux; cleanups stop the
// child.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// listensOn cannot tell outside Linux which process holds a port: the
// server that answered is taken to be the one started.
func listensOn(int, int) (bool, error) { return true, nil }
