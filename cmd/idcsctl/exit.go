package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/session"
)

// Exit codes are a contract with scripts; docs/exit-codes.md lists them.
const (
	exitOK            = 0
	exitError         = 1
	exitUsage         = 2
	exitCancelled     = 3
	exitLoginRequired = 4
	exitHTTPStatus    = 5
)

// usageError marks an error in what the person asked for (a flag, the
// config, a URL), which exits 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef builds a usageError.
func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// statusError is returned by fetch when the server answered 400 or more;
// the body has been written already.
type statusError struct{ status int }

func (e *statusError) Error() string { return fmt.Sprintf("the server answered HTTP %d", e.status) }

// exitCode maps an error to the documented exit code.
func exitCode(err error) int {
	var (
		uerr *usageError
		cerr *config.Error
		serr *statusError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &serr):
		return exitHTTPStatus
	case errors.Is(err, session.ErrLoginRequired):
		return exitLoginRequired
	case errors.Is(err, auth.ErrCancelled), errors.Is(err, auth.ErrTimeout), errors.Is(err, context.Canceled):
		return exitCancelled
	case errors.As(err, &uerr), errors.As(err, &cerr), errors.Is(err, auth.ErrInsecureURL):
		return exitUsage
	default:
		return exitError
	}
}
