//go:build !trent_gcdebug

package trent

// gcDebug is true under the trent_gcdebug build tag (see gcdebug_on.go).
const gcDebug = false
