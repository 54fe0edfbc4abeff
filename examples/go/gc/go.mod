// The garbage collection workaround every Go actor of the examples imports
// (see gc.go); the build's go.work lists this folder.
module wactor_examples/gc

go 1.25
