// Command decoy is a fast, deterministic mock API server for client
// performance tests. See `decoy --help`.
//
// With DECOY_CPUPROFILE=file in the environment, decoy writes a CPU
// profile of its whole run to file when it exits (for `go tool pprof`, and
// for the profile-guided build: bench/pgo.sh).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/decoy-dev/decoy/internal/cli"
)

func main() {
	stopProfile := startProfile(os.Getenv("DECOY_CPUPROFILE"))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := cli.Main(ctx, os.Args[1:], cli.Env{Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	stopProfile()
	os.Exit(code)
}

// startProfile starts a CPU profile into path (nothing when path is empty)
// and returns what ends it.
func startProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "decoy: DECOY_CPUPROFILE: %v\n", err)
		os.Exit(2)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "decoy: DECOY_CPUPROFILE: %v\n", err)
		}
	}
}
