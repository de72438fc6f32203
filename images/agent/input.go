package agent

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
)

// Input is where the agent's questions are answered: the consoles' keyboards in the boot
// image (see ConsoleInput), a reader in tests.
type Input interface {
	// ReadLine returns the next line typed, without its line ending. It returns
	// ctx's error when ctx ends first, and io.EOF when no more input can come.
	ReadLine(ctx context.Context) (string, error)
	// ReadSecret is ReadLine with the typing not echoed, where the input can do that.
	ReadSecret(ctx context.Context) (string, error)
}

// ReaderInput answers questions with the lines of a reader.
func ReaderInput(r io.Reader) Input {
	in := &lineInput{lines: make(chan string), done: make(chan struct{})}
	go in.read(r)
	return in
}

// lineInput turns readers into a stream of lines that a question can wait for with a
// context. Several readers may feed it (one per console); the first line typed on
// any of them answers.
type lineInput struct {
	lines chan string
	done  chan struct{} // closed when every reader has ended
	mu    sync.Mutex
	open  int
	once  sync.Once
	echo  func(on bool) // turns echo on and off on the terminals, if it can
}

func (in *lineInput) read(readers ...io.Reader) {
	in.mu.Lock()
	in.open += len(readers)
	in.mu.Unlock()
	for _, r := range readers {
		go func() {
			sc := bufio.NewScanner(r)
			for sc.Scan() {
				in.lines <- strings.TrimRight(sc.Text(), "\r")
			}
			in.mu.Lock()
			in.open--
			last := in.open == 0
			in.mu.Unlock()
			if last {
				in.once.Do(func() { close(in.done) })
			}
		}()
	}
	if len(readers) == 0 {
		in.once.Do(func() { close(in.done) })
	}
}

func (in *lineInput) ReadLine(ctx context.Context) (string, error) {
	select {
	case l := <-in.lines:
		return l, nil
	case <-ctx.Done():
		return "", ctx.Err()
	case <-in.done:
		// A line may have come just before the end.
		select {
		case l := <-in.lines:
			return l, nil
		default:
			return "", io.EOF
		}
	}
}

func (in *lineInput) ReadSecret(ctx context.Context) (string, error) {
	if in.echo != nil {
		in.echo(false)
		defer in.echo(true)
	}
	return in.ReadLine(ctx)
}

// errNoInput is what a question gets in a mode that asks nothing.
var errNoInput = errors.New("no console input")

type noInput struct{}

func (noInput) ReadLine(context.Context) (string, error)   { return "", errNoInput }
func (noInput) ReadSecret(context.Context) (string, error) { return "", errNoInput }
