//go:build !race

package trent_test

const raceEnabled = false
