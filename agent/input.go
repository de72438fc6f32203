package agent

import (
	"bytes"
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
	// WaitKey returns nil as soon as a key is pressed, or when something was typed
	// since the last question and not yet read: that input is consumed, it answers
	// no later question. It returns ctx's error when ctx ends first (a key pressed
	// by then still counts), and another error when no key can come.
	WaitKey(ctx context.Context) error
}

// ReaderInput answers questions with the lines of a reader.
func ReaderInput(r io.Reader) Input {
	in := newLineInput()
	in.read(r)
	return in
}

// lineInput turns readers into a stream of lines that a question can wait for with a
// context. Several readers may feed it (one per console); the first line typed on
// any of them answers.
type lineInput struct {
	lines chan string
	keys  chan struct{} // a key pressed while WaitKey waited (capacity 1)
	done  chan struct{} // closed when every reader has ended
	once  sync.Once

	mu       sync.Mutex
	open     int
	partial  [][]byte // per reader: typed, not yet a line
	awaitKey bool     // WaitKey waits: the next input read is its key

	// divert, while set, takes what reader divertFrom reads, byte for byte, instead
	// of the lines (a full screen reads its keys there); what the other readers read
	// meanwhile is dropped. See screen.go.
	divert     io.Writer
	divertFrom int
	// screen is the console that can show the full screen; nil when none can.
	screen *screenTerm

	echo func(on bool) // turns echo on and off on the terminals, if it can
	// keyMode switches the terminals to reading key by key, without echo, and back
	// to lines, if it can: without it a key counts when Enter is pressed.
	keyMode func(on bool)
}

func newLineInput() *lineInput {
	return &lineInput{lines: make(chan string), keys: make(chan struct{}, 1), done: make(chan struct{})}
}

func (in *lineInput) read(readers ...io.Reader) {
	in.mu.Lock()
	in.open += len(readers)
	first := len(in.partial)
	in.partial = append(in.partial, make([][]byte, len(readers))...)
	in.mu.Unlock()
	for i, r := range readers {
		go in.readFrom(first+i, r)
	}
	if len(readers) == 0 {
		in.once.Do(func() { close(in.done) })
	}
}

// readFrom passes reader i's lines on, and a key to a waiting WaitKey.
func (in *lineInput) readFrom(i int, r io.Reader) {
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			for _, l := range in.take(i, buf[:n]) {
				in.lines <- l
			}
		}
		if err != nil {
			break
		}
	}
	in.mu.Lock()
	rest := string(in.partial[i])
	in.partial[i] = nil
	in.mu.Unlock()
	if rest != "" {
		in.lines <- strings.TrimRight(rest, "\r")
	}
	in.mu.Lock()
	in.open--
	last := in.open == 0
	in.mu.Unlock()
	if last {
		in.once.Do(func() { close(in.done) })
	}
}

// take adds what reader i read and returns the lines it completes; while WaitKey
// waits it is the key instead.
func (in *lineInput) take(i int, b []byte) []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.divert != nil {
		if i == in.divertFrom {
			in.divert.Write(b)
		}
		return nil
	}
	if in.awaitKey {
		in.awaitKey = false
		in.partial[i] = nil
		select {
		case in.keys <- struct{}{}:
		default:
		}
		return nil
	}
	p := append(in.partial[i], b...)
	var lines []string
	for {
		j := bytes.IndexByte(p, '\n')
		if j < 0 {
			break
		}
		lines = append(lines, strings.TrimRight(string(p[:j]), "\r"))
		p = p[j+1:]
	}
	in.partial[i] = append([]byte(nil), p...)
	return lines
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

func (in *lineInput) WaitKey(ctx context.Context) error {
	// Typed ahead: a line waiting, or the start of one.
	select {
	case <-in.lines:
		return nil
	default:
	}
	in.mu.Lock()
	typed := false
	for i, p := range in.partial {
		typed = typed || len(p) > 0
		in.partial[i] = nil
	}
	select {
	case <-in.keys: // left by an earlier WaitKey
	default:
	}
	in.awaitKey = !typed
	in.mu.Unlock()
	if typed {
		return nil
	}
	defer func() {
		in.mu.Lock()
		in.awaitKey = false
		in.mu.Unlock()
	}()
	if in.keyMode != nil {
		in.keyMode(true)
		defer in.keyMode(false)
	}
	select {
	case <-in.keys:
		return nil
	case <-in.done:
		return io.EOF
	case <-ctx.Done():
		select {
		case <-in.keys:
			return nil
		default:
			return ctx.Err()
		}
	}
}

// errNoInput is what a question gets in a mode that asks nothing.
var errNoInput = errors.New("no console input")

type noInput struct{}

func (noInput) ReadLine(context.Context) (string, error)   { return "", errNoInput }
func (noInput) ReadSecret(context.Context) (string, error) { return "", errNoInput }
func (noInput) WaitKey(context.Context) error              { return errNoInput }
