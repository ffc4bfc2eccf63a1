// Package trent is the Go binding of Trent, an embeddable key management engine with the
// semantics of AWS KMS. It links libtrent_ffi.a (the C ABI, ffi/include/trent.h) statically
// through cgo.
//
//	k, err := trent.Open(trent.InMemory(), trent.AllowUnlockedMemory(true))
//	if err != nil { … }
//	defer k.Close()
//	keyID, _ := k.CreateKey("orders")
//	blob, _ := k.Encrypt(keyID, []byte("hello"), map[string]string{"tenant": "acme"})
//	plain, _ := k.Decrypt(blob, map[string]string{"tenant": "acme"})
//
// A *KMS is safe for concurrent use by any number of goroutines. Close releases the engine
// once every call in flight has returned; a finalizer releases it if Close was never called.
// Errors are *Error, matched with errors.Is against the sentinels (ErrNotFound, …) or read
// with errors.As.
package trent

/*
#include "trent.h"
*/
import "C"

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// engine owns one trent_kms and its root caller. Calls hold mu for reading; Close takes it
// for writing, so the handles are freed only when no call uses them.
type engine struct {
	mu     sync.RWMutex
	ptr    *C.trent_kms
	root   *Caller // freed with the engine (no pointer back: the finalizer needs no cycle)
	closed bool
}

func (e *engine) free() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	e.closed = true
	if r := e.root; r != nil {
		r.mu.Lock()
		C.trent_caller_free(r.ptr)
		r.ptr = nil
		r.mu.Unlock()
		liveHandles.Add(-1)
	}
	C.trent_kms_free(e.ptr)
	e.ptr = nil
	liveHandles.Add(-1)
}

// liveHandles counts engines and callers not yet freed (tests check finalizers with it).
var liveHandles atomic.Int64

// KMS is an open engine and the principal its operations run as (the account's root unless
// made by WithCaller). Every method may be called from any number of goroutines at once.
type KMS struct {
	e      *engine
	caller *Caller
}

// Caller is a principal operations run as (trent_caller). Immutable and shareable; freed by
// Close or its finalizer.
type Caller struct {
	ptr  *C.trent_caller
	arn  string
	mu   sync.RWMutex
	root bool // an engine's root caller: freed with the engine, not by Close
}

// ARN is the caller's principal ARN ("" for the root caller made by Open).
func (c *Caller) ARN() string { return c.arn }

// Close frees a caller made by NewCaller; operations through a KMS using it fail with
// ErrClosed afterwards. On the root caller of an engine (KMS.Caller of a KMS from Open) it
// does nothing: that one is freed with the engine.
func (c *Caller) Close() error {
	if c.root {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ptr != nil {
		C.trent_caller_free(c.ptr)
		c.ptr = nil
		liveHandles.Add(-1)
	}
	runtime.SetFinalizer(c, nil)
	return nil
}

func newCaller(ptr *C.trent_caller, arn string) *Caller {
	c := &Caller{ptr: ptr, arn: arn}
	liveHandles.Add(1)
	runtime.SetFinalizer(c, (*Caller).Close)
	return c
}

// NewCaller makes a principal from its ARN (arn:aws:iam::<account>:… or
// arn:aws:sts::<account>:…); ErrValidation if malformed.
func NewCaller(arn string) (*Caller, error) {
	var ptr *C.trent_caller
	var detail *C.trent_error
	rc := C.trent_caller_from_arn(strPtr(arn), C.size_t(len(arn)), &ptr, &detail)
	if rc != C.TRENT_RESULT_OK {
		return nil, takeError(rc, detail)
	}
	return newCaller(ptr, arn), nil
}

// WithCaller returns a KMS on the same engine whose operations run as c. Closing either
// closes the engine for both.
func (k *KMS) WithCaller(c *Caller) *KMS { return &KMS{e: k.e, caller: c} }

// Caller is the principal this KMS's operations run as.
func (k *KMS) Caller() *Caller { return k.caller }

// Close releases the engine after every call in flight has returned; later calls fail with
// ErrClosed. It is safe to call more than once. Plaintexts already returned are Go memory
// and stay valid (see the package README on secrets).
func (k *KMS) Close() error {
	k.e.free()
	runtime.SetFinalizer(k.e, nil)
	return nil
}

// acquire marks a call in flight: the engine and caller are not freed until release. Callers
// must call release (deferred) when acquire succeeds.
func (k *KMS) acquire() (*C.trent_kms, *C.trent_caller, error) {
	if gcDebug {
		runtime.GC()
	}
	k.e.mu.RLock()
	if k.e.closed {
		k.e.mu.RUnlock()
		return nil, nil, ErrClosed
	}
	if k.caller == k.e.root {
		// The engine's own root caller lives as long as the engine: its lock covers both.
		return k.e.ptr, k.caller.ptr, nil
	}
	k.caller.mu.RLock()
	if k.caller.ptr == nil {
		k.caller.mu.RUnlock()
		k.e.mu.RUnlock()
		return nil, nil, ErrClosed
	}
	return k.e.ptr, k.caller.ptr, nil
}

func (k *KMS) release() {
	if k.caller != k.e.root {
		k.caller.mu.RUnlock()
	}
	k.e.mu.RUnlock()
	if gcDebug {
		runtime.GC()
	}
}

// cCall is one call into trent.h: given the engine's handle and the caller's, it makes the
// call and returns the result code and the error's detail. Its closure holds the Go memory
// the call reads, and the variables the call writes to. (The detail is its own variable,
// not one call passes in, so that it stays on the stack: Encrypt allocates nothing.)
type cCall func(kp *C.trent_kms, cp *C.trent_caller) (C.trent_result, *C.trent_error)

// call is the one way every operation reaches the engine: it marks the call in flight
// (ErrClosed on a closed KMS), runs c, keeps k (whose finalizer frees the handles) and c
// (whose closure holds the Go memory C reads) alive until C has returned, and turns a
// failure into its *Error, freeing the detail.
func (k *KMS) call(c cCall) error {
	kp, cp, err := k.acquire()
	if err != nil {
		return err
	}
	defer k.release()
	rc, detail := c(kp, cp)
	runtime.KeepAlive(k)
	runtime.KeepAlive(c)
	return check(rc, detail)
}

// callResult is call for a function that hands its result back through an out parameter
// (a trent_buffer, key metadata): take turns it into its Go value and frees it (freeing a
// buffer wipes it; a plaintext's Go copy is the caller's to clear).
func callResult[T, R any](k *KMS, take func(T) R, c func(kp *C.trent_kms, cp *C.trent_caller, out *T, detail **C.trent_error) C.trent_result) (R, error) {
	var out T
	err := k.call(func(kp *C.trent_kms, cp *C.trent_caller) (rc C.trent_result, d *C.trent_error) {
		rc = c(kp, cp, &out, &d)
		return rc, d
	})
	if err != nil {
		var zero R
		return zero, err
	}
	return take(out), nil
}

// options collects Open's settings.
type options struct {
	apply []func(b *C.trent_kms_builder, err **C.trent_error) C.trent_result
	// zero holds copies of secrets given to options, wiped after Open.
	zero [][]byte
}

// Option configures Open.
type Option func(*options)

// setting is the Option that applies set to the builder.
func setting(set func(b *C.trent_kms_builder, err **C.trent_error) C.trent_result) Option {
	return func(o *options) { o.apply = append(o.apply, set) }
}

// strOpt is the Option that passes s to a builder function taking one text.
func strOpt(f func(b *C.trent_kms_builder, p *C.char, n C.size_t, err **C.trent_error) C.trent_result, s string) Option {
	return setting(func(b *C.trent_kms_builder, err **C.trent_error) C.trent_result {
		// C copies; the string is pinned for the call.
		r := f(b, strPtr(s), C.size_t(len(s)), err)
		runtime.KeepAlive(s)
		return r
	})
}

// InMemory is the default keystore: in memory, lost at Close, under a random root key.
func InMemory() Option { return func(*options) {} }

// DataDir is the embedded default: a SQLite keystore and a root key file in dir, both created
// at the first open.
func DataDir(dir string) Option {
	return strOpt(func(b *C.trent_kms_builder, p *C.char, n C.size_t, err **C.trent_error) C.trent_result {
		return C.trent_kms_builder_data_dir(b, p, n, err)
	}, dir)
}

// SQLite is a SQLite keystore at path (created if missing); it needs a root key option.
func SQLite(path string) Option {
	return strOpt(func(b *C.trent_kms_builder, p *C.char, n C.size_t, err **C.trent_error) C.trent_result {
		return C.trent_kms_builder_sqlite(b, p, n, err)
	}, path)
}

// Postgres is a PostgreSQL keystore at url, its tables in schema ("" for the default
// schema); it needs a root key option.
func Postgres(url, schema string) Option {
	return setting(func(b *C.trent_kms_builder, err **C.trent_error) C.trent_result {
		r := C.trent_kms_builder_postgres(b, strPtr(url), C.size_t(len(url)), optStr(schema), C.size_t(len(schema)), err)
		runtime.KeepAlive(url)
		runtime.KeepAlive(schema)
		return r
	})
}

// Region is the engine's Region (default us-east-1).
func Region(region string) Option {
	return strOpt(func(b *C.trent_kms_builder, p *C.char, n C.size_t, err **C.trent_error) C.trent_result {
		return C.trent_kms_builder_region(b, p, n, err)
	}, region)
}

// Account is the engine's account id (default 111122223333).
func Account(account string) Option {
	return strOpt(func(b *C.trent_kms_builder, p *C.char, n C.size_t, err **C.trent_error) C.trent_result {
		return C.trent_kms_builder_account(b, p, n, err)
	}, account)
}

// RootKey is the root key itself (32 bytes). Open copies it into the engine and wipes its
// own copy; wipe yours.
func RootKey(key []byte) Option {
	return func(o *options) {
		k := append([]byte(nil), key...)
		o.zero = append(o.zero, k)
		o.apply = append(o.apply, func(b *C.trent_kms_builder, err **C.trent_error) C.trent_result {
			r := C.trent_kms_builder_root_key(b, bytesPtr(k), C.size_t(len(k)), err)
			runtime.KeepAlive(k)
			return r
		})
	}
}

// RootKeyFile is a root key file (32 bytes, mode 0600; created at the first open).
func RootKeyFile(path string) Option {
	return strOpt(func(b *C.trent_kms_builder, p *C.char, n C.size_t, err **C.trent_error) C.trent_result {
		return C.trent_kms_builder_root_key_file(b, p, n, err)
	}, path)
}

// RootKeyPassphrase derives the root key from a passphrase (PBKDF2-HMAC-SHA256).
func RootKeyPassphrase(passphrase string) Option {
	return strOpt(func(b *C.trent_kms_builder, p *C.char, n C.size_t, err **C.trent_error) C.trent_result {
		return C.trent_kms_builder_root_key_passphrase(b, p, n, err)
	}, passphrase)
}

// RootKeyEnv reads the root key from an environment variable (64 hex digits or base64).
func RootKeyEnv(name string) Option {
	return strOpt(func(b *C.trent_kms_builder, p *C.char, n C.size_t, err **C.trent_error) C.trent_result {
		return C.trent_kms_builder_root_key_env(b, p, n, err)
	}, name)
}

// AuditFile writes the audit trail to a hash-chained JSON-lines file.
func AuditFile(path string) Option {
	return strOpt(func(b *C.trent_kms_builder, p *C.char, n C.size_t, err **C.trent_error) C.trent_result {
		return C.trent_kms_builder_audit_file(b, p, n, err)
	}, path)
}

// AuditTable writes the audit trail to the keystore's audit table.
func AuditTable(on bool) Option {
	return setting(func(b *C.trent_kms_builder, err **C.trent_error) C.trent_result {
		return C.trent_kms_builder_audit_table(b, C.bool(on), err)
	})
}

// AllowUnlockedMemory lets the engine run when the system refuses to lock memory (secrets
// are still zeroed on release but may be swapped out). Off by default: Open then fails with
// ErrOpenLockedMemory.
func AllowUnlockedMemory(allow bool) Option {
	return setting(func(b *C.trent_kms_builder, err **C.trent_error) C.trent_result {
		return C.trent_kms_builder_allow_unlocked_memory(b, C.bool(allow), err)
	})
}

// LockedMemoryBudget is the most locked memory the engine may use (default 4 MiB).
func LockedMemoryBudget(bytes int) Option {
	return setting(func(b *C.trent_kms_builder, err **C.trent_error) C.trent_result {
		return C.trent_kms_builder_locked_memory_budget(b, C.size_t(bytes), err)
	})
}

// RefreshInterval is how often the engine polls a shared keystore (default 1 s; 0: never).
func RefreshInterval(d time.Duration) Option {
	return setting(func(b *C.trent_kms_builder, err **C.trent_error) C.trent_result {
		return C.trent_kms_builder_refresh_interval_ms(b, C.uint64_t(d/time.Millisecond), err)
	})
}

// MaxHotVersions is how many versions of key material stay unwrapped (default 128).
func MaxHotVersions(n int) Option {
	return setting(func(b *C.trent_kms_builder, err **C.trent_error) C.trent_result {
		return C.trent_kms_builder_max_hot_versions(b, C.size_t(n), err)
	})
}

// Open opens an engine with the options (an in-memory keystore by default) and returns it
// with the account's root principal as its caller.
func Open(opts ...Option) (*KMS, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	defer func() {
		for _, z := range o.zero {
			wipe(z)
		}
	}()
	var b *C.trent_kms_builder
	if rc := C.trent_kms_builder_new(&b); rc != C.TRENT_RESULT_OK {
		return nil, newError(uint32(rc), "")
	}
	defer C.trent_kms_builder_free(b)
	var detail *C.trent_error
	for _, apply := range o.apply {
		if rc := apply(b, &detail); rc != C.TRENT_RESULT_OK {
			return nil, takeError(rc, detail)
		}
	}
	var ptr *C.trent_kms
	if rc := C.trent_kms_builder_open(b, &ptr, &detail); rc != C.TRENT_RESULT_OK {
		return nil, takeError(rc, detail)
	}
	var cptr *C.trent_caller
	if rc := C.trent_caller_root(ptr, &cptr); rc != C.TRENT_RESULT_OK {
		C.trent_kms_free(ptr)
		return nil, newError(uint32(rc), "")
	}
	root := &Caller{ptr: cptr, root: true}
	e := &engine{ptr: ptr, root: root}
	liveHandles.Add(2)
	runtime.SetFinalizer(e, (*engine).free)
	return &KMS{e: e, caller: root}, nil
}

// MemoryIsLocked reports whether key material really is in locked memory.
func (k *KMS) MemoryIsLocked() bool {
	kp, _, err := k.acquire()
	if err != nil {
		return false
	}
	defer k.release()
	r := bool(C.trent_kms_memory_is_locked(kp))
	runtime.KeepAlive(k)
	return r
}

// StoreBackend is the keystore's backend: "memory", "sqlite" or "postgres".
func (k *KMS) StoreBackend() string {
	kp, _, err := k.acquire()
	if err != nil {
		return ""
	}
	defer k.release()
	r := C.GoString(C.trent_kms_store_backend(kp))
	runtime.KeepAlive(k)
	return r
}

// RunMaintenance carries out what the clock has made due (deletions, automatic rotations).
func (k *KMS) RunMaintenance() error {
	return k.call(func(kp *C.trent_kms, _ *C.trent_caller) (rc C.trent_result, d *C.trent_error) {
		rc = C.trent_kms_run_maintenance(kp, &d)
		return rc, d
	})
}

// RefreshNow applies other engines' changes to a shared keystore now.
func (k *KMS) RefreshNow() error {
	return k.call(func(kp *C.trent_kms, _ *C.trent_caller) (rc C.trent_result, d *C.trent_error) {
		rc = C.trent_kms_refresh_now(kp, &d)
		return rc, d
	})
}

// CheckStoreIntegrity checks the keystore; ErrKMSInternal with the finding otherwise.
func (k *KMS) CheckStoreIntegrity() error {
	return k.call(func(kp *C.trent_kms, _ *C.trent_caller) (rc C.trent_result, d *C.trent_error) {
		rc = C.trent_kms_check_store_integrity(kp, &d)
		return rc, d
	})
}

// FlushAudit waits until every event of the operations that returned before it is stored.
func (k *KMS) FlushAudit() error {
	return k.call(func(kp *C.trent_kms, _ *C.trent_caller) (rc C.trent_result, d *C.trent_error) {
		rc = C.trent_kms_flush_audit(kp, &d)
		return rc, d
	})
}

// RootKeyKind says where a new root key comes from, for RotateRootKey.
type RootKeyKind uint32

// The root key sources of RotateRootKey.
const (
	RootKeyBytes      RootKeyKind = C.TRENT_ROOT_KEY_KIND_BYTES
	RootKeyFromFile   RootKeyKind = C.TRENT_ROOT_KEY_KIND_FILE
	RootKeyFromPhrase RootKeyKind = C.TRENT_ROOT_KEY_KIND_PASSPHRASE
	RootKeyFromEnv    RootKeyKind = C.TRENT_ROOT_KEY_KIND_ENV
)

// RotateRootKey rewraps every version of key material under a new root key (kind and value:
// the 32 bytes, a file path, a passphrase or an environment variable's name) and returns how
// many versions it rewrapped.
func (k *KMS) RotateRootKey(kind RootKeyKind, value []byte) (uint64, error) {
	var n C.uint64_t
	err := k.call(func(kp *C.trent_kms, _ *C.trent_caller) (rc C.trent_result, d *C.trent_error) {
		rc = C.trent_kms_rotate_root_key(kp, C.uint32_t(kind), bytesPtr(value), C.size_t(len(value)), &n, &d)
		return rc, d
	})
	return uint64(n), err
}
