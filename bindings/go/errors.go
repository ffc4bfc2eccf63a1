package trent

import (
	"errors"
	"strings"
	"sync"
)

// Code is a trent_result code of the C ABI (ffi/README.md): 1–99 the boundary and the
// arguments, 100–199 why an engine refused to open, 1000 and up one per AWS KMS exception.
type Code uint32

//go:generate go run ./internal/gencodes

// The codes of trent.h (CodeNotFoundException, …) and their sentinels (ErrNotFound, …) are
// generated into codes_gen.go from the header; a test checks the file against it.

// CodeClosed is Go's own: the KMS handle was closed. Not a C ABI code.
const CodeClosed Code = 0xC105ED

// Error is every error the engine reports: the result code, its name (for engine errors the
// AWS exception's wire name, "NotFoundException") and the engine's message. Messages never
// carry plaintext or key material, and every decryption failure has the same message.
//
// Match a kind with errors.Is and the sentinels (errors.Is(err, trent.ErrNotFound)), or get
// the details with errors.As:
//
//	var te *trent.Error
//	if errors.As(err, &te) { log.Print(te.Name, te.Message) }
type Error struct {
	// Code is the C ABI's result code.
	Code Code
	// Name is the code's name: the AWS exception name for engine errors
	// ("KMSInvalidStateException"), a short CamelCase name otherwise ("InvalidArgument").
	Name string
	// Message is the engine's message, without the name.
	Message string
}

// Error returns "<Name>: <Message>" (or the name alone).
func (e *Error) Error() string {
	if e.Message == "" {
		return "trent: " + e.Name
	}
	return "trent: " + e.Name + ": " + e.Message
}

// Is reports whether target is an *Error with the same code, so errors.Is(err,
// trent.ErrNotFound) matches every NotFoundException whatever its message.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Code == e.Code
}

// IsAWSException reports whether the error is one of the AWS KMS exceptions (code ≥ 1000),
// as opposed to an argument, boundary or open failure.
func (e *Error) IsAWSException() bool { return e.Code >= 1000 && e.Code < 2000 }

func sentinel(c Code) *Error { return &Error{Code: c, Name: codeName(c)} }

// ErrClosed is the error of every call on a closed KMS.
var ErrClosed = &Error{Code: CodeClosed, Name: "Closed", Message: "the KMS handle is closed"}

var names sync.Map // Code → string: trent_result_name is static, so cache it.

func codeName(c Code) string {
	if c == CodeClosed {
		return "Closed"
	}
	if v, ok := names.Load(c); ok {
		return v.(string)
	}
	n := resultName(uint32(c))
	names.Store(c, n)
	return n
}

// newError builds the error of a failed call from its code and the C detail's message
// ("<name>: <message>").
func newError(code uint32, detail string) *Error {
	c := Code(code)
	name := codeName(c)
	msg := strings.TrimPrefix(detail, name+": ")
	return &Error{Code: c, Name: name, Message: msg}
}
