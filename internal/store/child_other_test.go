//go:build !linux

package store

import (
	"errors"
	"syscall"
)

// hideRunUserEnv: see child_linux_test.go; elsewhere a child never hides
// /run/user.
const hideRunUserEnv = "IDCSCTL_STORE_TEST_HIDE_RUN_USER"

func hiddenRunUserAttr() *syscall.SysProcAttr { return nil }

func canHideRunUser() error { return errors.New("only Linux has /run/user and mount namespaces") }

func hideRunUser() error { return nil }
