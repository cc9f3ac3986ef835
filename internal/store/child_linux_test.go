package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"syscall"
)

// hideRunUserEnv, set to "1" in a child's environment, runs the child in a
// user and mount namespace of its own where an empty tmpfs covers
// /run/user: there the child finds no session bus socket of this user,
// whatever the machine has, as on a server without a desktop session.
const hideRunUserEnv = "IDCSCTL_STORE_TEST_HIDE_RUN_USER"

// hiddenRunUserAttr is the SysProcAttr of such a child: it is root of its
// own user namespace (mapped to this user, so it owns what this user owns)
// and may mount in its own mount namespace, which nobody else sees.
func hiddenRunUserAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		GidMappingsEnableSetgroups: false,
	}
}

// canHideRunUser reports whether this machine lets a process make the
// namespaces hiddenRunUserAttr asks for (some container runtimes forbid
// user namespaces).
func canHideRunUser() error {
	cmd := exec.Command("/bin/sh", "-c", "exit 0")
	cmd.SysProcAttr = hiddenRunUserAttr()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("cannot start a process in a user and mount namespace of its own here (%v)", err)
	}
	return nil
}

// hideRunUser is what the child does first: mount an empty tmpfs over
// /run/user. The mount lives and dies with the child's mount namespace.
func hideRunUser() error {
	if _, err := os.Stat("/run/user"); errors.Is(err, fs.ErrNotExist) {
		return nil // nothing to hide
	}
	if err := syscall.Mount("tmpfs", "/run/user", "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("mount an empty tmpfs over /run/user: %w", err)
	}
	return nil
}
