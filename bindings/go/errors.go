package trent

import (
	"errors"
	"strings"
	"sync"
)

// Code is a trent_result code of the C ABI (ffi/README.md): 1–99 the boundary and the
// arguments, 100–199 why an engine refused to open, 1000 and up one per AWS KMS exception.
type Code uint32

// The result codes (the values of trent.h's enum trent_result; never renumbered).
const (
	CodePanic                            Code = 1
	CodeNullParameter                    Code = 2
	CodeInvalidUTF8                      Code = 3
	CodeInvalidArgument                  Code = 4
	CodeIndexOutOfRange                  Code = 5
	CodeUnknownException                 Code = 99
	CodeOpenSelfTest                     Code = 100
	CodeOpenLockedMemory                 Code = 101
	CodeOpenConfig                       Code = 102
	CodeOpenStore                        Code = 103
	CodeOpenRootKey                      Code = 104
	CodeNotFoundException                Code = 1000
	CodeDisabledException                Code = 1001
	CodeKMSInvalidStateException         Code = 1002
	CodeAlreadyExistsException           Code = 1003
	CodeConflictException                Code = 1004
	CodeInvalidCiphertextException       Code = 1005
	CodeIncorrectKeyException            Code = 1006
	CodeInvalidKeyUsageException         Code = 1007
	CodeInvalidArnException              Code = 1008
	CodeInvalidAliasNameException        Code = 1009
	CodeInvalidMarkerException           Code = 1010
	CodeInvalidGrantTokenException       Code = 1011
	CodeMalformedPolicyDocumentException Code = 1012
	CodeTagException                     Code = 1013
	CodeUnsupportedOperationException    Code = 1014
	CodeLimitExceededException           Code = 1015
	CodeDryRunOperationException         Code = 1016
	CodeAccessDeniedException            Code = 1017
	CodeValidationException              Code = 1018
	CodeKMSInternalException             Code = 1019

	// CodeClosed is Go's own: the KMS handle was closed. Not a C ABI code.
	CodeClosed Code = 0xC105ED
)

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

// Sentinels for errors.Is, one per result code. They carry no message.
var (
	ErrPanic                   = sentinel(CodePanic)
	ErrNullParameter           = sentinel(CodeNullParameter)
	ErrInvalidUTF8             = sentinel(CodeInvalidUTF8)
	ErrInvalidArgument         = sentinel(CodeInvalidArgument)
	ErrIndexOutOfRange         = sentinel(CodeIndexOutOfRange)
	ErrUnknownException        = sentinel(CodeUnknownException)
	ErrOpenSelfTest            = sentinel(CodeOpenSelfTest)
	ErrOpenLockedMemory        = sentinel(CodeOpenLockedMemory)
	ErrOpenConfig              = sentinel(CodeOpenConfig)
	ErrOpenStore               = sentinel(CodeOpenStore)
	ErrOpenRootKey             = sentinel(CodeOpenRootKey)
	ErrNotFound                = sentinel(CodeNotFoundException)
	ErrDisabled                = sentinel(CodeDisabledException)
	ErrInvalidState            = sentinel(CodeKMSInvalidStateException)
	ErrAlreadyExists           = sentinel(CodeAlreadyExistsException)
	ErrConflict                = sentinel(CodeConflictException)
	ErrInvalidCiphertext       = sentinel(CodeInvalidCiphertextException)
	ErrIncorrectKey            = sentinel(CodeIncorrectKeyException)
	ErrInvalidKeyUsage         = sentinel(CodeInvalidKeyUsageException)
	ErrInvalidArn              = sentinel(CodeInvalidArnException)
	ErrInvalidAliasName        = sentinel(CodeInvalidAliasNameException)
	ErrInvalidMarker           = sentinel(CodeInvalidMarkerException)
	ErrInvalidGrantToken       = sentinel(CodeInvalidGrantTokenException)
	ErrMalformedPolicyDocument = sentinel(CodeMalformedPolicyDocumentException)
	ErrTag                     = sentinel(CodeTagException)
	ErrUnsupportedOperation    = sentinel(CodeUnsupportedOperationException)
	ErrLimitExceeded           = sentinel(CodeLimitExceededException)
	ErrDryRunOperation         = sentinel(CodeDryRunOperationException)
	ErrAccessDenied            = sentinel(CodeAccessDeniedException)
	ErrValidation              = sentinel(CodeValidationException)
	ErrKMSInternal             = sentinel(CodeKMSInternalException)
	ErrClosed                  = &Error{Code: CodeClosed, Name: "Closed", Message: "the KMS handle is closed"}
)

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
