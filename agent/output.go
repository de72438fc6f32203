package agent

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// output is where the agent's lines go: the console, and the log file on the data
// partition once it is open. Lines written before the file opens are kept (up to
// pendingMax bytes) and written first.
type output struct {
	mu      sync.Mutex
	console io.Writer
	now     func() time.Time
	debug   bool

	file    *os.File
	path    string
	pending bytes.Buffer
	partial []byte // of a line written through Write, not yet ended
	dropped int
	closed  bool // the log file was closed: lines go to the console only
	// divert, while set, takes the console's lines instead of the console: a full
	// screen is drawn there (see screen.go). The log file still gets them.
	divert func(line string)
}

// setDivert sends the console's lines to f (nil: back to the console).
func (o *output) setDivert(f func(line string)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.divert = f
}

// toConsole shows a line on the console, or passes it to divert; o.mu is held.
func (o *output) toConsole(line string) {
	if o.divert != nil {
		o.divert(line)
		return
	}
	io.WriteString(o.console, line+"\n")
}

const pendingMax = 4 << 20

// Printf shows one line, "decom: " and the message.
func (o *output) Printf(format string, args ...any) {
	o.line("decom: " + fmt.Sprintf(format, args...))
}

// Debugf shows a line when decom.debug is set; the log file always has it.
func (o *output) Debugf(format string, args ...any) {
	line := "decom: " + fmt.Sprintf(format, args...)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.debug {
		o.toConsole(line)
	}
	o.logLine([]byte(line))
}

func (o *output) line(s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.toConsole(s)
	o.logLine([]byte(s))
}

// Write passes output of decom's own commands through: to the console as it comes,
// to the log line by line.
func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.divert == nil {
		o.console.Write(p)
	}
	data := append(o.partial, p...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		if o.divert != nil {
			o.divert(string(bytes.TrimRight(data[:i], "\r")))
		}
		o.logLine(data[:i])
		data = data[i+1:]
	}
	o.partial = append([]byte(nil), data...)
	return len(p), nil
}

// logLine writes one line to the log with its time; o.mu is held.
func (o *output) logLine(line []byte) {
	stamp := o.now().UTC().Format("2006-01-02T15:04:05.000Z ")
	if o.file != nil {
		o.file.WriteString(stamp)
		o.file.Write(bytes.TrimRight(line, "\r"))
		o.file.WriteString("\n")
		return
	}
	if o.closed {
		return
	}
	if o.pending.Len()+len(line) > pendingMax {
		o.dropped++
		return
	}
	o.pending.WriteString(stamp)
	o.pending.Write(bytes.TrimRight(line, "\r"))
	o.pending.WriteByte('\n')
}

// openLog starts the log file at path with what was shown so far.
func (o *output) openLog(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, err := f.Write(o.pending.Bytes()); err != nil {
		f.Close()
		return err
	}
	if o.dropped > 0 {
		fmt.Fprintf(f, "(%d earlier lines did not fit in memory and are missing)\n", o.dropped)
	}
	o.pending.Reset()
	o.file, o.path = f, path
	return nil
}

// closeLog flushes the log file to the medium and closes it; later lines go to the
// console only.
func (o *output) closeLog() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.file == nil {
		return nil
	}
	if len(o.partial) > 0 {
		o.file.Write(append(o.partial, '\n'))
		o.partial = nil
	}
	err := o.file.Sync()
	if cerr := o.file.Close(); err == nil {
		err = cerr
	}
	o.file, o.closed = nil, true
	return err
}
