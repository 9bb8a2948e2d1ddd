// Package errno builds the project's sentinel errors: a message a person can
// read, carrying the errno a caller of the equivalent kernel call would get,
// so errors.Is works against both the sentinel and the errno.
package errno

import (
	"errors"
	"syscall"
)

// Error is a sentinel error with an errno meaning.
type Error struct {
	Msg   string
	Errno syscall.Errno
}

// New returns a sentinel with message msg and meaning e.
func New(msg string, e syscall.Errno) *Error { return &Error{msg, e} }

func (e *Error) Error() string { return e.Msg }

// Is reports whether target is this sentinel's errno.
func (e *Error) Is(target error) bool {
	var n syscall.Errno
	return errors.As(target, &n) && n == e.Errno
}

// Unwrap exposes the errno, so errors.As(err, &syscall.Errno) finds it.
func (e *Error) Unwrap() error { return e.Errno }
