package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/decom-project/decom/inventory"
)

// An image file of an unaligned size is read to its last byte (the tail through the
// page cache when the rest is read with O_DIRECT), and described by its filesystem's
// device number and its inode; a wrong byte in the tail is found.
func TestOpenImageFile(t *testing.T) {
	img := filepath.Join(t.TempDir(), "t.img")
	const size = 2<<20 + 100
	data := bytes.Repeat([]byte("decom"), size/5+1)[:size]
	if err := os.WriteFile(img, data, 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var st unix.Stat_t
	if err := unix.Stat(img, &st); err != nil {
		t.Fatal(err)
	}
	if d.Inode != st.Ino || d.DevNo != fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)) || d.Target().Size != size {
		t.Fatalf("device %s inode %d size %d; want %d:%d, %d, %d", d.DevNo, d.Inode, d.Target().Size,
			unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino, size)
	}
	exp, err := ExpectBytes([]byte("decom"), "decom")
	if err != nil {
		t.Fatal(err)
	}
	if res := Run(context.Background(), d.Target(), exp, Options{Mode: ModeFull}); !res.Verified || res.BytesRead != size {
		t.Fatalf("clean file (direct %v): %s, %d bytes read", d.Target().Direct, res.Error, res.BytesRead)
	}
	if err := os.WriteFile(img, append(data[:size-1:size-1], 'x'), 0o600); err != nil {
		t.Fatal(err)
	}
	res := Run(context.Background(), d.Target(), exp, Options{Mode: ModeFull})
	if res.Verified || res.MismatchedBytes != 1 || len(res.Mismatches) != 1 || res.Mismatches[0].Offset != size-1 {
		t.Errorf("last byte changed: verified %v, %d bytes mismatched at %+v", res.Verified, res.MismatchedBytes, res.Mismatches)
	}
}

// What Open cannot verify it names: a missing path, something that is no block
// device nor file, an empty file.
func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.img")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]error{
		filepath.Join(dir, "missing"): inventory.ErrNotFound,
		dir:                           inventory.ErrNotBlockDevice,
	} {
		if _, err := Open(path); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", path, err, want)
		}
	}
	if _, err := Open(empty); err == nil || err.Error() != empty+": empty: nothing to verify" {
		t.Errorf("empty file: %v", err)
	}
}
