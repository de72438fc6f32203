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
	os.Exit(code)
}
