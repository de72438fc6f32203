// Command decom inventories drives, sanitizes them and certifies the result.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if isBootInit() {
		bootInit() // PID 1 of the boot image: never returns
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	// A write a drive never answers leaves its thread asleep in the kernel, and the
	// process cannot be reaped, nor the descriptors its threads share be closed,
	// before the kernel returns it. Closing the output here lets whoever reads it
	// (a pipe, an ssh session's stream) see its end now.
	os.Stdout.Close()
	os.Stderr.Close()
	os.Exit(code)
}
