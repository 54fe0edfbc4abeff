// Ray's `ThreadedActor` as a wactor guest written in Go: the exports of the
// world `wactor-examples:guests/threaded-actor`.
//
// Go cannot export async functions yet (see docs/guests/go.md), so this is a
// threaded actor: a pool of instances, each running one call at a time, that
// block with WASI's clock (`time.Sleep`) and the host's `*-blocking`
// functions. Each instance has its own memory, so the methods keep no state:
// what they did is visible in their output.
//
// `wit-bindgen go` generates the module `wit_component`, whose `main` package
// calls the functions of this package, `wit_component/export_wit_world`.
// Every method ends at a garbage collection safe point (../gc).
package export_wit_world

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
	"wactor_examples/gc"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"wit_component/wactor_runtime_actors"
	"wit_component/wactor_runtime_types"
)

type (
	objectRef = wactor_runtime_types.ObjectRef
	result    = witTypes.Result[uint32, string]
)

// Task1 prints "I'm running in a thread!", then blocks for millis ms.
func Task1(millis uint64) {
	defer gc.Collect()
	fmt.Println("I'm running in a thread!")
	sleep(millis)
}

// Task2 prints "I'm running in another thread!", then blocks for millis ms.
func Task2(millis uint64) {
	defer gc.Collect()
	fmt.Println("I'm running in another thread!")
	sleep(millis)
}

// Work prints "started <id>", blocks for millis ms, prints "finished <id>"
// and returns id. fmt.Println writes each line with one write.
func Work(id uint32, millis uint64) uint32 {
	defer gc.Collect()
	fmt.Println("started", id)
	sleep(millis)
	fmt.Println("finished", id)
	return id
}

// Crash traps: an unrecovered panic ends the instance.
func Crash() {
	panic("crash: crashing on purpose")
}

// CrashOnce traps the first time, leaving the file marker behind, and
// returns "survived" once marker exists.
func CrashOnce(marker string) string {
	defer gc.Collect()
	if _, err := os.Stat(marker); err == nil {
		return "survived"
	} else if !errors.Is(err, fs.ErrNotExist) {
		panic(fmt.Sprintf("crash-once: cannot check %s: %v", marker, err))
	}
	if err := os.WriteFile(marker, []byte("crashed once"), 0o644); err != nil {
		panic(fmt.Sprintf("crash-once: cannot write %s: %v", marker, err))
	}
	panic("crash-once: crashing the first time")
}

// WorkViaSelf calls work(id, 0) on this same actor and blocks for its
// result: it needs a second instance, or the host refuses instead of
// deadlocking.
func WorkViaSelf(id uint32) result {
	defer gc.Collect()
	me := wactor_runtime_actors.Current()
	defer me.Drop()
	r, err := call(me, "work", fmt.Sprintf("[%d,0]", id), nil)
	if err != nil {
		return fail(err)
	}
	defer r.Drop()
	return getU32(r)
}

// WaitSome spawns a pool of len(delays) instances of this component, calls
// work(i, delays[i]) on it for each i and blocks until numReturns of the
// calls are done (or timeoutMs passes): the indices of the ready ones.
func WaitSome(delays []uint64, numReturns uint32, timeoutMs witTypes.Option[uint64]) witTypes.Result[[]uint32, string] {
	defer gc.Collect()
	failed := func(err error) witTypes.Result[[]uint32, string] {
		return witTypes.Err[[]uint32](err.Error())
	}
	pool, err := spawn(wactor_runtime_types.ActorOptions{
		MaxConcurrency: witTypes.Some(uint32(len(delays))),
	})
	if err != nil {
		return failed(err)
	}
	defer pool.Drop()
	refs := make([]*objectRef, 0, len(delays))
	defer func() {
		for _, r := range refs {
			r.Drop()
		}
	}()
	for i, millis := range delays {
		r, err := call(pool, "work", fmt.Sprintf("[%d,%d]", i, millis), nil)
		if err != nil {
			return failed(err)
		}
		refs = append(refs, r)
	}
	ready := wactor_runtime_actors.WaitBlocking(refs, numReturns, timeoutMs)
	if ready.IsErr() {
		return failed(hostError(ready.Err()))
	}
	return witTypes.Ok[[]uint32, string](ready.Ok())
}

// WaitFor blocks until r is ready and returns its value, a u32.
func WaitFor(r *objectRef) result {
	defer gc.Collect()
	defer r.Drop()
	return getU32(r)
}

// Tangle makes a deadlock on purpose (call it on an actor of one instance):
// it queues work(7, 0) on this actor, behind this very call, spawns a second
// actor of one instance that blocks on that call (wait-for), and blocks on
// the second actor. The host refuses the newest of the two waits.
func Tangle() result {
	defer gc.Collect()
	me := wactor_runtime_actors.Current()
	defer me.Drop()
	looped, err := call(me, "work", "[7,0]", nil)
	if err != nil {
		return fail(err)
	}
	other, err := spawn(wactor_runtime_types.ActorOptions{})
	if err != nil {
		looped.Drop()
		return fail(err)
	}
	defer other.Drop()
	// The call takes the handle in `refs`: `{"$ref": 0}` stands for it.
	via, err := call(other, "wait-for", `[{"$ref":0}]`, []*objectRef{looped})
	if err != nil {
		return fail(err)
	}
	defer via.Drop()
	return getU32(via)
}

func sleep(millis uint64) {
	time.Sleep(time.Duration(millis) * time.Millisecond)
}

func spawn(options wactor_runtime_types.ActorOptions) (*wactor_runtime_types.Actor, error) {
	r := wactor_runtime_actors.Spawn(witTypes.None[string](), options)
	if r.IsErr() {
		return nil, hostError(r.Err())
	}
	return r.Ok(), nil
}

// call queues a call of method on actor; args is a JSON array. The handles in
// refs are moved to the host.
func call(actor *wactor_runtime_types.Actor, method, args string, refs []*objectRef) (*objectRef, error) {
	r := actor.Call(method, args, refs)
	if r.IsErr() {
		return nil, hostError(r.Err())
	}
	return r.Ok(), nil
}

// getU32 blocks until r is ready and decodes its JSON value, a u32.
func getU32(r *objectRef) result {
	got := r.GetBlocking(witTypes.None[uint64]())
	if got.IsErr() {
		return fail(hostError(got.Err()))
	}
	json := got.Ok()
	n, err := strconv.ParseUint(strings.TrimSpace(json), 10, 32)
	if err != nil {
		return witTypes.Err[uint32]("cannot decode the value: expected a u32: " + json)
	}
	return witTypes.Ok[uint32, string](uint32(n))
}

func fail(err error) result {
	return witTypes.Err[uint32](err.Error())
}

// hostError is the host's error as text, as the Rust guest SDK prints it.
func hostError(e wactor_runtime_types.Error) error {
	switch e.Tag() {
	case wactor_runtime_types.ErrorMethodFailed:
		return errors.New("the method failed: " + e.MethodFailed())
	case wactor_runtime_types.ErrorActorDied:
		return errors.New(e.ActorDied())
	case wactor_runtime_types.ErrorTimeout:
		return errors.New("timed out")
	case wactor_runtime_types.ErrorCancelled:
		return errors.New("the call was cancelled")
	case wactor_runtime_types.ErrorInvalid:
		return errors.New("invalid request: " + e.Invalid())
	case wactor_runtime_types.ErrorWouldBlock:
		return errors.New(e.WouldBlock())
	case wactor_runtime_types.ErrorOverloaded:
		return errors.New(e.Overloaded())
	case wactor_runtime_types.ErrorUnavailable:
		return errors.New(e.Unavailable())
	default:
		return fmt.Errorf("unknown error %d", e.Tag())
	}
}
