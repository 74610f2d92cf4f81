package embeddedchtest

import "syscall"

// childAttrs kill the server when the test binary dies without stopping it.
func childAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
