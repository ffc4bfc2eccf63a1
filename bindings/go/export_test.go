package trent

// LiveHandles is the number of engines and callers not yet freed.
func LiveHandles() int64 { return liveHandles.Load() }

// GCDebug: the forced-GC debug build (its collector goroutine allocates).
const GCDebug = gcDebug
