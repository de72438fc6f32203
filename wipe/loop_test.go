package wipe

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"slices"
	"testing"

	"github.com/decom-project/decom/internal/faultfs"
	"github.com/decom-project/decom/internal/loopdev"
)

// fillRandom gives a loop device's image random content: the "user data" a wipe
// must destroy.
func fillRandom(image string) error {
	f, err := os.OpenFile(image, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if _, err := io.CopyN(f, rand.Reader, st.Size()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readBack reads the whole device through a descriptor of its own, apart from the
// one the wipe wrote with.
func readBack(t *testing.T, path string, size int64) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := make([]byte, size)
	if _, err := io.ReadFull(f, got); err != nil {
		t.Fatal(err)
	}
	return got
}

// Every method, run through the gate on a real loop device full of random data,
// leaves exactly its last pass on the device.
func TestWipeLoopDeviceEveryMethod(t *testing.T) {
	const size = 16 << 20
	l := loopdev.New(t, size, false, fillRandom)
	g := &Gate{}
	for _, m := range append(Methods(), CustomMethod([]Pattern{Fixed(0x92, 0x49, 0x24), Random()}, 1, false)) {
		t.Run(m.Name, func(t *testing.T) {
			tgt, err := g.Check(context.Background(), l.Path)
			if err != nil {
				t.Fatal(err)
			}
			dev, err := g.Open(context.Background(), tgt)
			if err != nil {
				t.Fatal(err)
			}
			rec := Overwrite(context.Background(), dev, PassPlan{Method: m}, Options{})
			if err := dev.Close(); err != nil {
				t.Fatal(err)
			}
			if rec.Outcome != OutcomeCompleted || rec.IOMode != IODirect {
				t.Fatalf("outcome %s (%s), io %s", rec.Outcome, rec.Error, rec.IOMode)
			}
			last := rec.Passes[len(rec.Passes)-1]
			if !bytes.Equal(readBack(t, l.Path, size), expected(t, last, size)) {
				t.Fatalf("device does not hold the last pass %s", last.Pattern)
			}
		})
	}
}

// An image file on ramfs refuses O_DIRECT: the wipe falls back to buffered writes,
// says so, and still leaves the pattern; the file's odd-sized tail is written too.
func TestWipeImageFileBuffered(t *testing.T) {
	loopdev.Require(t)
	dir := t.TempDir()
	if err := mountRamfs(t, dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot mount a ramfs: %v", err)
		}
		t.Skipf("cannot mount a ramfs: %v", err)
	}
	img := dir + "/disk.img"
	const size = 5<<20 + 100
	if err := os.WriteFile(img, bytes.Repeat([]byte{0x77}, size), 0o600); err != nil {
		t.Fatal(err)
	}
	g := &Gate{}
	tgt, err := g.Check(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := g.Open(context.Background(), tgt)
	if err != nil {
		t.Fatal(err)
	}
	rec := Overwrite(context.Background(), dev, PassPlan{Method: CustomMethod([]Pattern{Fixed(0xaa, 0xbb, 0xcc)}, 1, false)}, Options{SyncEvery: 1 << 20})
	dev.Close()
	if rec.Outcome != OutcomeCompleted || rec.IOMode != IOBuffered || len(rec.Warnings) == 0 {
		t.Fatalf("outcome %s io %s warnings %q", rec.Outcome, rec.IOMode, rec.Warnings)
	}
	got, _ := os.ReadFile(img)
	if !bytes.Equal(got, expected(t, rec.Passes[0], size)) {
		t.Error("image does not hold the pattern")
	}
}

// Write errors at known offsets of a real block device: the wipe goes on, records
// exactly those ranges, and ends completed-with-exceptions.
func TestWipeRecordsInjectedWriteErrors(t *testing.T) {
	const size = 32 << 20
	bad := []Range{{Offset: 3 << 20, Length: 64 << 10}, {Offset: 17<<20 + 4096, Length: 4096}, {Offset: size - 512, Length: 512}}
	var faults []faultfs.Range
	for _, r := range bad {
		faults = append(faults, faultfs.Range{Off: r.Offset, Len: r.Length, Ops: faultfs.Write})
	}
	disk := faultfs.Mount(t, size, faults...)
	l := disk.Attach(t)
	g := &Gate{}
	tgt, err := g.Check(context.Background(), l.Path)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := g.Open(context.Background(), tgt)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	rec := Overwrite(context.Background(), dev, PassPlan{Method: mustMethod(t, "dod-3")}, Options{})
	if rec.Outcome != OutcomeExceptions {
		t.Fatalf("outcome %s (%s), want %s", rec.Outcome, rec.Error, OutcomeExceptions)
	}
	for _, pr := range rec.Passes {
		if !slices.Equal(pr.BadRanges, bad) {
			t.Errorf("pass %d: bad ranges %+v, want %+v", pr.Number, pr.BadRanges, bad)
		}
		if !pr.Completed || !pr.Flushed {
			t.Errorf("pass %d: completed %v flushed %v", pr.Number, pr.Completed, pr.Flushed)
		}
	}
	// Outside the bad ranges the disk holds the last pass.
	got, err := os.ReadFile(disk.Backing())
	if err != nil {
		t.Fatal(err)
	}
	want := expected(t, rec.Passes[2], size)
	for _, r := range bad {
		copy(want[r.Offset:r.Offset+r.Length], got[r.Offset:r.Offset+r.Length])
	}
	if !bytes.Equal(got, want) {
		t.Error("the writable ranges do not hold the last pass")
	}
}
