package images

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/u-root/u-root/pkg/cpio"
)

// testCert is a PEM certificate of a fresh key, a CA's or not.
func testCert(t *testing.T, name string, isCA bool) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: isCA, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// initrdFile is one regular file's content in a gzip-compressed newc initramfs.
func initrdFile(t *testing.T, gz []byte, name string) ([]byte, uint64, bool) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	r := cpio.Newc.Reader(bytes.NewReader(raw))
	for {
		rec, err := r.ReadRecord()
		if errors.Is(err, io.EOF) || rec.Name == cpio.Trailer {
			return nil, 0, false
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Name == name {
			b, err := io.ReadAll(io.NewSectionReader(rec.ReaderAt, 0, int64(rec.FileSize)))
			if err != nil {
				t.Fatal(err)
			}
			return b, rec.Mode, true
		}
	}
}

// TestCACerts: a build with --ca-file packs the CA certificates where Go's TLS reads
// the system's roots, byte for byte, and says so in its result; one without packs none.
func TestCACerts(t *testing.T) {
	cfg, _ := netbootInputs(t)
	ca := append(testCert(t, "Site CA 1", true), testCert(t, "Site CA 2", true)...)
	cfg.CAFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(cfg.CAFile, ca, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Build(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := fileOf(cfg.CAFile, ca)
	if res.CACerts == nil || *res.CACerts != want {
		t.Errorf("result's CA certificates %+v, want %+v", res.CACerts, want)
	}
	gz, err := os.ReadFile(filepath.Join(cfg.Netboot, NetbootInitrd))
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(InitramfsCACerts, "/")
	got, mode, ok := initrdFile(t, gz, name)
	if !ok || !bytes.Equal(got, ca) || mode != cpio.S_IFREG|0o644 {
		t.Errorf("%s in the initramfs: present %v, mode %o, %d bytes (want %d)", name, ok, mode, len(got), len(ca))
	}

	cfg.CAFile = ""
	cfg.Netboot = filepath.Join(t.TempDir(), "plain")
	res, err = Build(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	gz, _ = os.ReadFile(filepath.Join(cfg.Netboot, NetbootInitrd))
	if _, _, ok := initrdFile(t, gz, name); ok || res.CACerts != nil {
		t.Errorf("a build without CA certificates packs %s (%v) or reports some (%v)", name, ok, res.CACerts)
	}
}

// TestReadCACertsRefuses: a file without a CA certificate, or with anything else in it,
// is refused before anything is built.
func TestReadCACertsRefuses(t *testing.T) {
	dir := t.TempDir()
	key := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("not a key")})
	for name, content := range map[string][]byte{
		"empty":           nil,
		"not PEM":         []byte("hello\n"),
		"a key":           key,
		"trailing junk":   append(testCert(t, "Site CA", true), "junk\n"...),
		"bad certificate": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("garbage")}),
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".pem")
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadCACerts(p); err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	if _, err := ReadCACerts(filepath.Join(dir, "missing.pem")); err == nil {
		t.Error("a missing file: accepted")
	}
	// A CA, and a server's self-signed certificate pinned as its own root.
	good := filepath.Join(dir, "good.pem")
	os.WriteFile(good, append(testCert(t, "Site CA", true), testCert(t, "server.example", false)...), 0o644)
	if _, err := ReadCACerts(good); err != nil {
		t.Errorf("a CA and a self-signed server certificate: %v", err)
	}
}
