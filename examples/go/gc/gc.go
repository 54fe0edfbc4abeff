// Package gc keeps Go's garbage collector out of the host's copies into a Go
// actor: import it, and end every exported function with
// `defer gc.Collect()`.
package gc

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// Go's garbage collector must not run while the host copies a value into
// this instance: the host allocates it by calling the guest's `cabi_realloc`,
// where the component model forbids calling imports, and a collection that
// starts or ends there reads the clock (an import), which traps and kills
// the instance. With the WASI adapter of wasmtime 48 (and 50) that happens
// after about 4 MiB of argument or result data. So the collector is off, and
// each method ends with Collect(), a safe point: it collects once
// 4 MiB were allocated since the last collection. See docs/guests/go.md.

func init() { debug.SetGCPercent(-1) }

// gcEvery is how many bytes may be allocated between two collections: Go's
// own minimum heap goal.
const gcEvery = 4 << 20

var (
	allocated = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	collected uint64
)

// Collect collects if gcEvery bytes were allocated since the last
// collection. Call it where no value from the host is being copied in, e.g.
// `defer gc.Collect()` at the top of each exported function, and in the
// loops of long methods.
func Collect() {
	metrics.Read(allocated)
	if allocated[0].Value.Uint64()-collected < gcEvery {
		return
	}
	runtime.GC()
	metrics.Read(allocated)
	collected = allocated[0].Value.Uint64()
}
