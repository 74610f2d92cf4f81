//go:build !linux

package embeddedchtest

import "syscall"

func childAttrs() *syscall.SysProcAttr { return nil }
