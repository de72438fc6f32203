package station

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/decom-project/decom/sanitize"
)

// Lines turns in into a line reader for Confirm: one goroutine reads its lines, as
// long as in gives lines; io.EOF follows the last.
func Lines(in io.Reader) func(ctx context.Context) (string, error) {
	lines := make(chan string)
	var start sync.Once
	return func(ctx context.Context) (string, error) {
		start.Do(func() {
			go func() {
				sc := bufio.NewScanner(in)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
		})
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case line, ok := <-lines:
			if !ok {
				return "", io.EOF
			}
			return line, nil
		}
	}
}

// Confirm returns a confirmation for Station.Confirm that asks at a line console:
// for each drive, one at a time, its serial number (its device name when it has
// none) must be typed to wipe it; anything else leaves it alone. A drive pulled
// out while it waits is no longer asked about. readLine returns the next line
// typed, or ctx's error when ctx ends first.
func Confirm(readLine func(ctx context.Context) (string, error), out io.Writer) func(ctx context.Context, p sanitize.Plan) (bool, error) {
	var mu sync.Mutex // one question at a time
	return func(ctx context.Context, p sanitize.Plan) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		if err := ctx.Err(); err != nil {
			return false, err
		}
		t := p.Target
		want, what := t.Identity.Serial, "serial number"
		if want == "" {
			want, what = strings.TrimPrefix(t.Node, "/dev/"), "device name (without /dev/)"
		}
		fmt.Fprintf(out, "%s: all data on it (%s) will be destroyed. Type its %s to wipe it, or press Enter to leave it: ",
			t.Path, identity(t.Drive.Model, t.Identity.Serial, t.Identity.SizeBytes), what)
		line, err := readLine(ctx)
		switch {
		case ctx.Err() != nil:
			fmt.Fprintf(out, "\n%s: no longer waiting (removed, or the station stops)\n", t.Path)
			return false, ctx.Err()
		case err != nil:
			fmt.Fprintf(out, "\n%s: left alone: %v\n", t.Path, err)
			return false, nil
		case strings.TrimSpace(line) != want:
			fmt.Fprintf(out, "%s: left alone: that is not its %s\n", t.Path, what)
			return false, nil
		}
		fmt.Fprintf(out, "%s: confirmed\n", t.Path)
		return true, nil
	}
}

// Typed connects what is typed on a full screen to Confirm: the screen calls put
// with each line entered (put never blocks; of the lines entered while no question
// waits, only the latest is kept), and Confirm reads them with read.
func Typed() (put func(string), read func(ctx context.Context) (string, error)) {
	lines := make(chan string, 1)
	put = func(line string) {
		for {
			select {
			case lines <- line:
				return
			default:
			}
			select {
			case <-lines: // an older line nobody asked for
			default:
			}
		}
	}
	read = func(ctx context.Context) (string, error) {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case line := <-lines:
			return line, nil
		}
	}
	return put, read
}
