package testsvc

import "syscall"

// sysProcAttr kills the child when the test binary dies without running its
// cleanups (a panic, a timeout's SIGQUIT), so no server outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
