package registry

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/decom-project/decom/certificates"
)

// spoolFile writes a bundle into a spool directory.
func spoolFile(t *testing.T, dir, name string, bundle []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// unenrolledBundle is a certificate signed by a key the registry does not know: it
// refuses it (403).
func (r *testRegistry) unenrolledBundle(t *testing.T, serial string) []byte {
	t.Helper()
	priv, _, err := certificates.GenerateKey(certificates.KeyECDSAP256, nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := certificates.LoadPrivateKey(priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := certificates.Sign(t.Context(), signer, r.certificate(t, testCert{Serial: serial}))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPush(t *testing.T) {
	ctx := t.Context()
	reg := newTestRegistry(t)
	c := &Client{URL: reg.URL, Token: reg.Token}
	dir := t.TempDir()
	sentBefore := spoolFile(t, dir, "a.sigstore.json", reg.sign(t, reg.certificate(t, testCert{Serial: "A"})))
	if _, err := c.UploadFile(ctx, sentBefore, 1); err != nil {
		t.Fatal(err)
	}
	b := spoolFile(t, dir, "b.sigstore.json", reg.sign(t, reg.certificate(t, testCert{Serial: "B"})))
	cc := spoolFile(t, dir, "c.sigstore.json", reg.sign(t, reg.certificate(t, testCert{Serial: "C"})))
	refused := spoolFile(t, dir, "d.sigstore.json", reg.unenrolledBundle(t, "D"))
	spoolFile(t, dir, "notes.txt", []byte("not a certificate"))

	var heard []string
	p, err := c.Push(ctx, dir, 1, func(s Sent) { heard = append(heard, s.File) })
	if err != nil {
		t.Fatal(err)
	}
	if p.Certificates != 4 || p.Uploaded != 2 || p.Waiting != 1 {
		t.Errorf("push: %d certificates, %d uploaded, %d waiting; want 4, 2, 1", p.Certificates, p.Uploaded, p.Waiting)
	}
	want := []string{b, cc, refused}
	var tried []string
	for _, s := range p.Sent {
		tried = append(tried, s.File)
	}
	if !slices.Equal(tried, want) || !slices.Equal(heard, want) {
		t.Errorf("tried %q, heard of %q; want %q for both", tried, heard, want)
	}
	for _, s := range p.Sent[:min(2, len(p.Sent))] {
		bundle, _ := os.ReadFile(s.File)
		if s.Err != nil {
			t.Errorf("%s: %v", s.File, s.Err)
		} else if _, err := VerifyReceipt(s.Receipt, bundle, reg.LogKey); err != nil {
			t.Errorf("%s: the receipt does not verify: %v", s.File, err)
		}
		if _, err := os.Stat(ReceiptPath(s.File)); err != nil {
			t.Errorf("%s: no receipt kept: %v", s.File, err)
		}
	}
	err = p.Err()
	if !errors.Is(err, ErrRejected) || !strings.HasPrefix(err.Error(), refused+": ") {
		t.Errorf("push's error: %v; want ErrRejected naming %s", err, refused)
	}
	if _, err := os.Stat(ReceiptPath(refused)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused certificate has a receipt (%v)", err)
	}

	// A second push tries only what still waits.
	p, err = c.Push(ctx, dir, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Certificates != 4 || p.Uploaded != 0 || p.Waiting != 1 || len(p.Sent) != 1 || p.Sent[0].File != refused {
		t.Errorf("second push: %+v; want only %s tried, again refused", p, refused)
	}
}

func TestPushUnreachable(t *testing.T) {
	reg := newTestRegistry(t)
	dir := t.TempDir()
	f := spoolFile(t, dir, "a.sigstore.json", reg.sign(t, reg.certificate(t, testCert{Serial: "A"})))
	c := &Client{URL: "http://" + closedAddr(t), Token: reg.Token}
	p, err := c.Push(t.Context(), dir, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Uploaded != 0 || p.Waiting != 1 || !errors.Is(p.Err(), ErrUnreachable) {
		t.Errorf("push to a registry that is not there: %+v, %v; want 1 waiting, ErrUnreachable", p, p.Err())
	}
	if _, err := os.Stat(ReceiptPath(f)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a certificate not sent has a receipt (%v)", err)
	}
}

// Push's own errors are about the directory, and say what they are without
// wrapping the message.
func TestPushDirErrors(t *testing.T) {
	c := &Client{URL: "http://" + closedAddr(t), Token: "t"}
	missing := filepath.Join(t.TempDir(), "missing")
	_, err := c.Push(t.Context(), missing, 1, nil)
	var de *DirError
	if !errors.As(err, &de) || !errors.Is(err, fs.ErrNotExist) || err.Error() != "stat "+missing+": no such file or directory" {
		t.Errorf("push of a missing directory: %v; want a *DirError, not found, the stat message", err)
	}
	if _, err := c.Push(t.Context(), filepath.Join(t.TempDir(), "a["), 1, nil); !errors.Is(err, filepath.ErrBadPattern) {
		t.Errorf("push of a directory whose name is not a pattern: %v; want filepath.ErrBadPattern", err)
	}
	p, err := c.Push(t.Context(), t.TempDir(), 1, nil)
	if err != nil || p.Certificates != 0 || len(p.Sent) != 0 || p.Err() != nil {
		t.Errorf("push of an empty directory: %+v, %v", p, err)
	}
}
