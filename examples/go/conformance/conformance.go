// The conformance actor in Go: the exports of the world
// `wactor-examples:guests/conformance`. Every `echo-*` method returns its
// argument as it came, so a call is a round trip of one value through the
// host's JSON encoding and both sides of the canonical ABI (the host lowers
// the argument, the Go bindings lift it, lower it back, and the host lifts
// the result); tests/conformance/values.txt lists the values.
//
// `wit-bindgen go` generates the module `wit_component`, whose `main` package
// calls the functions of this package, `wit_component/export_wit_world`.
// Every method ends at a garbage collection safe point (../gc).
package export_wit_world

import (
	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"wactor_examples/gc"
	"wit_component/wactor_runtime_actors"
	"wit_component/wactor_runtime_types"
	"wit_component/wit_world"
)

type (
	objectRef = wactor_runtime_types.ObjectRef
	point     = wit_world.Point
)

func EchoBool(x bool) bool            { defer gc.Collect(); return x }
func EchoU8(x uint8) uint8            { defer gc.Collect(); return x }
func EchoS8(x int8) int8              { defer gc.Collect(); return x }
func EchoU16(x uint16) uint16         { defer gc.Collect(); return x }
func EchoS16(x int16) int16           { defer gc.Collect(); return x }
func EchoU32(x uint32) uint32         { defer gc.Collect(); return x }
func EchoS32(x int32) int32           { defer gc.Collect(); return x }
func EchoU64(x uint64) uint64         { defer gc.Collect(); return x }
func EchoS64(x int64) int64           { defer gc.Collect(); return x }
func EchoF32(x float32) float32       { defer gc.Collect(); return x }
func EchoF64(x float64) float64       { defer gc.Collect(); return x }
func EchoChar(x rune) rune            { defer gc.Collect(); return x }
func EchoString(x string) string      { defer gc.Collect(); return x }
func EchoBytes(x []uint8) []uint8     { defer gc.Collect(); return x }
func EchoStrings(x []string) []string { defer gc.Collect(); return x }

func EchoPoint(x point) point                     { defer gc.Collect(); return x }
func EchoShape(x wit_world.Shape) wit_world.Shape { defer gc.Collect(); return x }
func EchoColor(x wit_world.Color) wit_world.Color { defer gc.Collect(); return x }
func EchoPerms(x wit_world.Perms) wit_world.Perms { defer gc.Collect(); return x }

func EchoOption(x witTypes.Option[witTypes.Option[uint32]]) witTypes.Option[witTypes.Option[uint32]] {
	defer gc.Collect()
	return x
}

func EchoResult(x witTypes.Result[string, uint32]) witTypes.Result[string, uint32] {
	defer gc.Collect()
	return x
}

// EchoTuple gets the tuple as a witTypes.Tuple3 and returns its elements as
// three results: the bindings return a tuple that way.
func EchoTuple(x witTypes.Tuple3[uint8, string, bool]) (uint8, string, bool) {
	defer gc.Collect()
	return x.F0, x.F1, x.F2
}

func EchoPoints(x []witTypes.Option[point]) []witTypes.Option[point] {
	defer gc.Collect()
	return x
}

// EchoRef returns the handle it was given: the caller gets a ref to the same
// result back.
func EchoRef(r *objectRef) *objectRef {
	defer gc.Collect()
	return r
}

// RefValue blocks on r and returns its value as JSON text, or the host's
// error as it came.
func RefValue(r *objectRef) witTypes.Result[string, wactor_runtime_types.Error] {
	defer gc.Collect()
	defer r.Drop()
	return r.GetBlocking(witTypes.None[uint64]())
}

// PutValue stores value (JSON text) with the host and returns the ref.
func PutValue(value string) *objectRef {
	defer gc.Collect()
	return wactor_runtime_actors.Put(value)
}
