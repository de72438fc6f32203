package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/decom-project/decom/certificates"
)

// ReceiptPath is where the registry's receipt of a certificate file is kept: beside
// it, so that a certificate directory says by itself which certificates the registry
// has acknowledged and which still wait to be sent.
func ReceiptPath(cert string) string {
	return strings.TrimSuffix(cert, ".sigstore.json") + ".receipt.json"
}

// UploadFile sends one certificate file and keeps the receipt beside it
// (ReceiptPath). A registry that does not answer is tried again with a doubling
// delay, attempts times in all; a refusal is final.
func (c *Client) UploadFile(ctx context.Context, cert string, attempts int) (Receipt, error) {
	bundle, err := os.ReadFile(cert)
	if err != nil {
		return Receipt{}, err
	}
	var r Receipt
	delay := time.Second
	for i := 1; ; i++ {
		r, err = c.Upload(ctx, bundle)
		if err == nil || !errors.Is(err, ErrUnreachable) || i >= attempts {
			break
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
	if err != nil {
		return r, err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return r, err
	}
	dir, name := filepath.Split(ReceiptPath(cert))
	if dir == "" {
		dir = "."
	}
	if _, err := certificates.WriteFileAtomic(dir, name, append(b, '\n'), 0o644); err != nil {
		return r, fmt.Errorf("keep the receipt: %w", err)
	}
	return r, nil
}

// Sent is what became of one certificate file Push tried to send.
type Sent struct {
	File string
	// Receipt is the registry's receipt, kept beside the file, when Err is nil.
	Receipt Receipt
	// Err is why the file was not sent (ErrUnreachable, ErrRejected, a file that
	// cannot be read, or the context's error); the file waits for the next push.
	Err error
}

// Pushed is what Push did with a directory of certificates.
type Pushed struct {
	// Certificates counts the certificate files in the directory, those the
	// registry acknowledged before included.
	Certificates int
	// Uploaded and Waiting count the files sent now and those that failed.
	Uploaded, Waiting int
	// Sent lists the files Push tried, in the order it tried them (by name).
	Sent []Sent
}

// Err is the first failure, naming its file, or nil when every file went.
func (p Pushed) Err() error {
	for _, s := range p.Sent {
		if s.Err != nil {
			return fmt.Errorf("%s: %w", s.File, s.Err)
		}
	}
	return nil
}

// DirError is Push's error for a directory it cannot look at. Its message is that
// of the error underneath.
type DirError struct {
	Dir string
	Err error
}

func (e *DirError) Error() string { return e.Err.Error() }
func (e *DirError) Unwrap() error { return e.Err }

// Push sends every certificate (*.sigstore.json) in dir that has no receipt beside
// it yet, each with UploadFile (attempts tries), and keeps going past failures: a
// certificate that could not be sent stays without a receipt for the next push.
// sent, when not nil, hears of each file as it is done.
//
// The error is about dir only: filepath.ErrBadPattern when dir holds glob
// metacharacters that do not parse, a *DirError when it cannot be found. A
// directory that cannot be listed holds no certificates as far as Push can see.
// Failures of single files are in the result (Pushed.Err).
func (c *Client) Push(ctx context.Context, dir string, attempts int, sent func(Sent)) (Pushed, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.sigstore.json"))
	if err != nil {
		return Pushed{}, err
	}
	if _, err := os.Stat(dir); err != nil {
		return Pushed{}, &DirError{Dir: dir, Err: err}
	}
	p := Pushed{Certificates: len(files)}
	for _, f := range files {
		if _, err := os.Stat(ReceiptPath(f)); err == nil {
			continue // acknowledged before
		}
		s := Sent{File: f}
		s.Receipt, s.Err = c.UploadFile(ctx, f, attempts)
		if s.Err != nil {
			p.Waiting++
		} else {
			p.Uploaded++
		}
		p.Sent = append(p.Sent, s)
		if sent != nil {
			sent(s)
		}
	}
	return p, nil
}
