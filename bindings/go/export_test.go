package trent

// LiveHandles is the number of engines and callers not yet freed.
func LiveHandles() int64 { return liveHandles.Load() }
