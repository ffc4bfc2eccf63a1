package awskms_test

import (
	"testing"

	trent "github.com/trent-kms/trent/bindings/go"
)

// openKMS opens an in-memory engine for a test or benchmark, closed when it ends.
func openKMS(tb testing.TB) *trent.KMS {
	tb.Helper()
	k, err := trent.Open(trent.AllowUnlockedMemory(true))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { k.Close() })
	return k
}

// appCaller is a caller other than the account's root, which key policies deny, closed when
// the test ends.
func appCaller(tb testing.TB) *trent.Caller {
	tb.Helper()
	caller, err := trent.NewCaller("arn:aws:iam::111122223333:role/app")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { caller.Close() })
	return caller
}
