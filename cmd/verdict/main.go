// Command verdict triages SIEM alerts: it extracts indicators, checks them
// against threat intelligence, scores and classifies each alert, and writes
// reports.
package main

import (
	"context"
	"os"
	"syscall"

	"github.com/verdict-dev/verdict/pkg/cmd/root"
	"github.com/verdict-dev/verdict/pkg/interrupt"
	"github.com/verdict-dev/verdict/pkg/iostreams"
)

func main() { // the only os.Exit in the program
	// The first SIGINT or SIGTERM cancels ctx: the run stops, cleans up and
	// exits 130 or 143. A second one exits at once, after removing the
	// temporary files and spools still registered.
	ctx, sig := interrupt.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() { os.Exit(sig.Second()) }()
	code := root.Main(ctx, os.Args[1:], iostreams.System())
	sig.Stop()
	os.Exit(code)
}
