//go:build trent_gcdebug

package trent

import (
	"runtime"
	"time"
)

// gcDebug: under the trent_gcdebug build tag every call runs the garbage collector before
// and after it, and a background goroutine collects continuously, so finalizers run as early
// as they may: a handle the binding forgot to keep alive across a C call is freed under it
// and the tests crash instead of passing by luck.
const gcDebug = true

func init() {
	go func() {
		for {
			runtime.GC()
			time.Sleep(50 * time.Microsecond)
		}
	}()
}
