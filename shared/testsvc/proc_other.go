//go:build !linux

package testsvc

import "syscall"

// sysProcAttr has no parent-death signal outside Linux; cleanups stop the
// child.
func sysProcAttr() *syscall.SysProcAttr { return nil }
