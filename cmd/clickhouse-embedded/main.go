// Command clickhouse-embedded fetches and serves the embedded ClickHouse used
// by `make run` and by the tests (see internal/embeddedch).
//
//	clickhouse-embedded fetch
//	clickhouse-embedded serve --path DIR [--tcp-port 9000] [--http-port 8123] [--listen 127.0.0.1] [--ready-file F] [--lib F] [--config F]
//
// fetch prints the path of libchdb.so after fetching it if missing. serve
// prints "ready tcp=HOST:PORT http=HOST:PORT" once both protocols answer (and
// writes the same line to --ready-file), and stops cleanly on SIGINT or
// SIGTERM; the data in --path survives for the next start.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/callhouse/callhouse/internal/embeddedch"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "clickhouse-embedded:", err)
		os.Exit(1)
	}
}

const usage = "usage: clickhouse-embedded fetch | serve --path DIR [--tcp-port 9000] [--http-port 8123] [--listen 127.0.0.1] [--ready-file FILE] [--lib FILE] [--config FILE]"

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "fetch":
		if len(args) > 1 {
			return errors.New(usage)
		}
		lib, err := fetch(stderr)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, lib)
		return nil
	case "serve":
		return serve(args[1:], stdout, stderr)
	default:
		return errors.New(usage)
	}
}

func fetch(log io.Writer) (string, error) {
	dir, err := embeddedch.CacheDir()
	if err != nil {
		return "", err
	}
	return embeddedch.Fetch(context.Background(), dir, log)
}

func serve(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o embeddedch.Options
	fs.StringVar(&o.Path, "path", "", "data directory (required); kept across restarts")
	fs.StringVar(&o.Listen, "listen", embeddedch.DefaultListen, "loopback address to listen on")
	fs.IntVar(&o.TCPPort, "tcp-port", 9000, "native protocol port")
	fs.IntVar(&o.HTTPPort, "http-port", 8123, "HTTP port")
	fs.StringVar(&o.ConfigFile, "config", "", "extra ClickHouse configuration file (XML or YAML), e.g. remote_servers for a cluster")
	readyFile := fs.String("ready-file", "", "file to write the ready line to once the server answers")
	lib := fs.String("lib", "", "libchdb.so to load (default: fetched into the cache dir)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; %s", fs.Args(), usage)
	}
	if err := embeddedch.CheckPlatform(); err != nil {
		return err
	}
	if err := o.Validate(); err != nil {
		return err
	}
	if *lib == "" {
		var err error
		if *lib, err = fetch(stderr); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal during the stop ends the process at once
	}()
	readyErr := make(chan error, 1)
	onReady := func() {
		line := fmt.Sprintf("ready tcp=%s http=%s\n", o.TCPAddr(), o.HTTPAddr())
		if *readyFile != "" {
			if err := writeFileAtomic(*readyFile, line); err != nil {
				readyErr <- err
				stop() // a waiting script would never see it: stop rather than hang
				return
			}
		}
		fmt.Fprint(stdout, line)
	}
	err := embeddedch.Serve(ctx, *lib, o, onReady)
	if err == nil {
		// After ClickHouse's own "Query was cancelled", which is how it stops.
		fmt.Fprintln(stderr, "clickhouse-embedded: stopped; the data in", o.Path, "is kept")
	}
	if *readyFile != "" {
		os.Remove(*readyFile) // no longer ready
	}
	select {
	case rerr := <-readyErr:
		err = errors.Join(err, fmt.Errorf("ready file: %w", rerr))
	default:
	}
	return err
}

// writeFileAtomic makes the ready file appear whole, never half-written.
func writeFileAtomic(path, content string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
