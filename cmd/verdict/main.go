// Command verdict triages SIEM alerts: it extracts indicators, checks them
// against threat intelligence, scores and classifies each alert, and writes
// reports.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/verdict-dev/verdict/pkg/cmd/root"
	"github.com/verdict-dev/verdict/pkg/iostreams"
)

func main() { // the only os.Exit in the program
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := root.Main(ctx, os.Args[1:], iostreams.System())
	stop()
	os.Exit(code)
}
