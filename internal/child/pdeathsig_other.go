//go:build unix && !linux

package child

import "syscall"

// setParentDeathSignal does nothing: only Linux has a parent-death
// signal; elsewhere a child outlives a parent killed with SIGKILL.
func setParentDeathSignal(*syscall.SysProcAttr) {}
