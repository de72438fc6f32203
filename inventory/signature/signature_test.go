package signature

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.hex from the builders, and testdata/tools/*.hex from tool-made images")

// maxRead is the largest single read Probe may issue; its buffers are fixed at this.
const maxRead = 4096

// checkedReader fails the test if Probe reads outside the device or in pieces larger
// than its fixed buffers, and counts what it read.
type checkedReader struct {
	t     testing.TB
	r     io.ReaderAt
	size  int64
	total int64
}

func (c *checkedReader) ReadAt(p []byte, off int64) (int, error) {
	c.t.Helper()
	if off < 0 || int64(len(p)) > c.size || off > c.size-int64(len(p)) {
		c.t.Errorf("read of %d bytes at %d outside a device of %d bytes", len(p), off, c.size)
	}
	if len(p) > maxRead {
		c.t.Errorf("read of %d bytes at %d; reads must fit the fixed %d-byte buffers", len(p), off, maxRead)
	}
	c.total += int64(len(p))
	return c.r.ReadAt(p, off)
}

// probeChecked runs Probe through a checkedReader and also bounds the total read.
func probeChecked(t testing.TB, r io.ReaderAt, size int64) (Result, error) {
	t.Helper()
	c := &checkedReader{t: t, r: r, size: size}
	res, err := Probe(c, size)
	if c.total > 1<<20 {
		t.Errorf("Probe read %d bytes in all; it should need well under 1 MiB", c.total)
	}
	return res, err
}

// inCI reports whether a missing tool should fail the test rather than skip it.
func inCI() bool { return os.Getenv("CI") == "true" }

// tool finds a command, looking in the sbin directories too, or skips (fails in CI).
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	if inCI() {
		t.Fatalf("%s not found: install the Debian package %s", name, pkg)
	}
	t.Skipf("%s not found (Debian package %s)", name, pkg)
	return ""
}

func run(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin = nil
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// sparseFile creates an image file of size bytes with no data in it.
func sparseFile(t *testing.T, name string, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// blkid asks the real blkid, in low-level probe mode, what an image file holds.
func blkid(t *testing.T, path string) map[string]string {
	t.Helper()
	bin := tool(t, "blkid", "util-linux")
	out, err := exec.Command(bin, "-p", "-o", "export", path).Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 2) { // 2: nothing found
		t.Fatalf("blkid -p %s: %v", path, err)
	}
	tags := map[string]string{}
	for line := range strings.Lines(string(out)) {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\n"), "=")
		if ok {
			tags[k] = strings.ReplaceAll(v, `\`, "")
		}
	}
	return tags
}

// agreeWithBlkid checks that blkid reports the same type and, for each field in
// fields, the same value.
func agreeWithBlkid(t *testing.T, path string, got Result, fields ...string) {
	t.Helper()
	tags := blkid(t, path)
	if tags["TYPE"] != got.Type {
		t.Errorf("blkid says TYPE=%q, Probe says %q (blkid: %v)", tags["TYPE"], got.Type, tags)
	}
	mine := map[string]string{"VERSION": got.Version, "UUID": got.UUID, "LABEL": got.Label}
	for _, f := range fields {
		if tags[f] != mine[f] {
			t.Errorf("blkid says %s=%q, Probe says %q", f, tags[f], mine[f])
		}
	}
}

func openImage(t *testing.T, path string) (*os.File, int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return f, st.Size()
}

// toolCase makes an image with a real tool. compare names the fields blkid must agree
// on besides TYPE; fields Probe does not read for that format are left out.
type toolCase struct {
	name    string
	size    int64
	cmd     string // the command, looked up first
	pkg     string // its Debian package
	args    func(img, dir string) []string
	want    Result // Type, and Version/Label when fixed by the arguments
	compare []string
}

const label = "decomtest"

var toolCases = []toolCase{
	{"ext2", 16 * mib, "mkfs.ext2", "e2fsprogs",
		func(img, _ string) []string { return []string{"-q", "-F", "-L", label, img} },
		Result{Type: Ext2, Version: "1.0", Label: label}, []string{"VERSION", "UUID", "LABEL"}},
	{"ext3", 16 * mib, "mkfs.ext3", "e2fsprogs",
		func(img, _ string) []string { return []string{"-q", "-F", "-L", label, img} },
		Result{Type: Ext3, Version: "1.0", Label: label}, []string{"VERSION", "UUID", "LABEL"}},
	{"ext4", 16 * mib, "mkfs.ext4", "e2fsprogs",
		func(img, _ string) []string { return []string{"-q", "-F", "-b", "4096", "-L", label, img} },
		Result{Type: Ext4, Version: "1.0", Label: label}, []string{"VERSION", "UUID", "LABEL"}},
	{"xfs", 300 * mib, "mkfs.xfs", "xfsprogs",
		func(img, _ string) []string { return []string{"-q", "-f", "-L", label, img} },
		Result{Type: XFS, Label: label}, []string{"VERSION", "UUID", "LABEL"}},
	{"btrfs", 128 * mib, "mkfs.btrfs", "btrfs-progs",
		func(img, _ string) []string { return []string{"-q", "-f", "-L", label, img} },
		Result{Type: Btrfs, Label: label}, []string{"VERSION", "UUID", "LABEL"}},
	{"ntfs", 16 * mib, "mkfs.ntfs", "ntfs-3g",
		func(img, _ string) []string { return []string{"-F", "-Q", "-q", "-L", label, img} },
		Result{Type: NTFS}, []string{"VERSION", "UUID"}}, // the label lives in the MFT
	{"vfat16", 64 * mib, "mkfs.vfat", "dosfstools",
		func(img, _ string) []string { return []string{"-F", "16", "-n", "DECOMTEST", img} },
		Result{Type: VFAT, Version: "FAT16", Label: "DECOMTEST"}, []string{"VERSION", "UUID", "LABEL"}},
	{"vfat32", 64 * mib, "mkfs.vfat", "dosfstools",
		func(img, _ string) []string { return []string{"-F", "32", "-n", "DECOMTEST", img} },
		Result{Type: VFAT, Version: "FAT32", Label: "DECOMTEST"}, []string{"VERSION", "UUID", "LABEL"}},
	{"exfat", 16 * mib, "mkfs.exfat", "exfatprogs",
		func(img, _ string) []string { return []string{"-L", label, img} },
		Result{Type: ExFAT, Version: "1.0"}, []string{"VERSION", "UUID"}}, // label in the root directory
	{"swap", 16 * mib, "mkswap", "util-linux",
		func(img, _ string) []string { return []string{"-L", label, img} },
		Result{Type: Swap, Version: "1", Label: label}, []string{"VERSION", "UUID", "LABEL"}},
	{"luks1", 32 * mib, "cryptsetup", "cryptsetup-bin",
		func(img, dir string) []string {
			return []string{"luksFormat", "--batch-mode", "--type", "luks1", "--pbkdf-force-iterations", "1000",
				"--key-file", filepath.Join(dir, "key"), img}
		},
		Result{Type: LUKS, Version: "1"}, []string{"VERSION", "UUID", "LABEL"}},
	{"luks2", 32 * mib, "cryptsetup", "cryptsetup-bin",
		func(img, dir string) []string {
			return []string{"luksFormat", "--batch-mode", "--type", "luks2", "--pbkdf", "pbkdf2",
				"--pbkdf-force-iterations", "1000", "--label", label, "--key-file", filepath.Join(dir, "key"), img}
		},
		Result{Type: LUKS, Version: "2", Label: label}, []string{"VERSION", "UUID", "LABEL"}},
	{"iso9660", 0, "genisoimage", "genisoimage",
		func(img, dir string) []string {
			return []string{"-quiet", "-V", "DECOMTEST", "-o", img, filepath.Join(dir, "tree")}
		},
		Result{Type: ISO9660, Label: "DECOMTEST"}, []string{"VERSION", "LABEL"}}, // blkid's UUID comes from the dates
}

// makeToolImage runs the case's tool on a fresh image file in a temporary directory.
func makeToolImage(t *testing.T, tc toolCase) string {
	t.Helper()
	bin := tool(t, tc.cmd, tc.pkg)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "key"), []byte("decom test key, not a secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "tree"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tree", "hello.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, tc.name+".img")
	if tc.size > 0 {
		img = sparseFile(t, tc.name+".img", tc.size)
	}
	run(t, append([]string{bin}, tc.args(img, dir)...)...)
	return img
}

// TestToolImages makes each format with its real mkfs-like tool on an image file and
// checks that Probe names it, and that blkid agrees field by field.
func TestToolImages(t *testing.T) {
	for _, tc := range toolCases {
		t.Run(tc.name, func(t *testing.T) {
			img := makeToolImage(t, tc)
			f, size := openImage(t, img)
			rec := &recorder{r: f, seen: newSparseImage(0)}
			got, err := probeChecked(t, rec, size)
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			if got.Type != tc.want.Type ||
				(tc.want.Version != "" && got.Version != tc.want.Version) ||
				(tc.want.Label != "" && got.Label != tc.want.Label) {
				t.Errorf("Probe = %+v, want %+v", got, tc.want)
			}
			agreeWithBlkid(t, img, got, tc.compare...)
			if *update && !t.Failed() {
				rec.seen.size = size
				fx := &fixture{
					comment: []string{
						"the parts of a " + tc.cmd + "-made image (" + tc.pkg + ") that Probe read",
						"made by TestToolImages -update; blkid agreed with this result on the full image",
					},
					image: rec.seen,
					want:  got,
				}
				writeTestdata(t, filepath.Join("testdata", "tools", tc.name+".hex"), fx.encode())
			}
		})
	}
}

func writeTestdata(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestToolImagesLayered covers devices with more than one signature: images the tools
// made, then changed the way real leftovers arise. blkid must agree, or, where it sees
// two signatures and names neither, say so; there Probe's order decides.
func TestToolImagesLayered(t *testing.T) {
	byName := func(name string) toolCase {
		i := slices.IndexFunc(toolCases, func(tc toolCase) bool { return tc.name == name })
		return toolCases[i]
	}
	patch := func(t *testing.T, img string, off int64, b []byte) {
		t.Helper()
		f, err := os.OpenFile(img, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	zfsTail := func(t *testing.T, img string, size int64) {
		// Labels 2 and 3 of an earlier pool, which mke2fs does not reach.
		for _, l := range []int64{size - 2*zfsLabelSize, size - zfsLabelSize} {
			for i := range int64(4) {
				patch(t, img, l+zfsUberblockStart+i*1024, zfsUberblock(binary.LittleEndian, uint64(i+1)))
			}
		}
	}
	cases := []struct {
		name, base string
		size       int64 // overrides the base case's image size when set
		change     func(t *testing.T, img string, size int64)
		want       Result
		compare    []string // nil: blkid must find the result ambivalent
	}{
		// The old swap header at 1 KiB is the ext4 superblock now; only the string is left.
		{"old swap signature under ext4", "ext4", 0,
			func(t *testing.T, img string, _ int64) { patch(t, img, 4096-10, []byte("SWAPSPACE2")) },
			Result{Type: Ext4}, []string{"UUID"}},
		{"ext4 inside an md 1.0 RAID1 member", "ext4", 0,
			func(t *testing.T, img string, size int64) {
				off := size&^4095 - 8192
				patch(t, img, off, md1Superblock(off, uint64(size/512)))
			},
			Result{Type: LinuxRAID, Version: "1.0"}, []string{"VERSION", "UUID", "LABEL"}},
		{"LUKS2 with its primary header wiped", "luks2", 0,
			func(t *testing.T, img string, _ int64) { patch(t, img, 0, make([]byte, 4096)) },
			Result{Type: LUKS, Version: "2", Label: label}, []string{"VERSION", "UUID", "LABEL"}},
		{"ext4 over an old ZFS pool's end labels", "ext4", 64 * mib, zfsTail,
			Result{Type: Ext4}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tc := byName(c.base)
			if c.size > 0 {
				tc.size = c.size
			}
			img := makeToolImage(t, tc)
			_, size := openImage(t, img)
			c.change(t, img, size)
			f, _ := openImage(t, img)
			got, err := probeChecked(t, f, size)
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			if got.Type != c.want.Type || (c.want.Version != "" && got.Version != c.want.Version) ||
				(c.want.Label != "" && got.Label != c.want.Label) {
				t.Errorf("Probe = %+v, want %+v", got, c.want)
			}
			if c.compare == nil {
				blkidAmbivalent(t, img)
				return
			}
			agreeWithBlkid(t, img, got, c.compare...)
		})
	}
}

// blkidAmbivalent checks that blkid sees more than one signature and names none, the
// case where Probe's order decides.
func blkidAmbivalent(t *testing.T, path string) {
	t.Helper()
	bin := tool(t, "blkid", "util-linux")
	out, err := exec.Command(bin, "-p", path).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 8 || !bytes.Contains(out, []byte("ambivalent")) {
		t.Errorf("blkid -p: %v, %s; want exit status 8, ambivalent result", err, out)
	}
}

// TestRecordedImages replays the stored reads of tool-made images, so the real tools'
// bytes are checked even where the tools are not installed.
func TestRecordedImages(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "tools", "*.hex"))
	if len(paths) == 0 {
		t.Fatal("no recorded images in testdata/tools")
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			fx := loadFixture(t, path)
			got, err := probeChecked(t, fx.image, fx.image.size)
			if err != nil || got != fx.want {
				t.Errorf("Probe = %+v, %v; want %+v", got, err, fx.want)
			}
		})
	}
}

func loadFixture(t testing.TB, path string) *fixture {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fx, err := decodeFixture(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return fx
}

// TestFixtures checks the committed layouts of the formats no tool here writes to a
// file: the file must match its builder, Probe must find what it claims, and blkid,
// given the same bytes, must agree.
func TestFixtures(t *testing.T) {
	for _, bf := range builtFixtures {
		t.Run(bf.name, func(t *testing.T) {
			path := filepath.Join("testdata", bf.name+".hex")
			built := bf.build().encode()
			if *update {
				writeTestdata(t, path, built)
			}
			committed, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestFixtures -update to write it)", err)
			}
			if !bytes.Equal(committed, built) {
				t.Fatalf("%s differs from its builder; run go test -run TestFixtures -update", path)
			}
			fx := loadFixture(t, path)
			got, err := probeChecked(t, fx.image, fx.image.size)
			if err != nil || got != fx.want {
				t.Fatalf("Probe = %+v, %v; want %+v", got, err, fx.want)
			}

			img := filepath.Join(t.TempDir(), bf.name+".img")
			if err := fx.image.writeFile(img); err != nil {
				t.Fatal(err)
			}
			if fx.blkidSkip != "" {
				t.Logf("blkid not compared (%s); it says %v", fx.blkidSkip, blkid(t, img))
				return
			}
			agreeWithBlkid(t, img, got, "VERSION", "UUID", "LABEL")
		})
	}
}

// TestRAIDPartitionView probes the md 0.90 member of md-0.90-last-partition as a
// partition, the way inventory does, where it must be found.
func TestRAIDPartitionView(t *testing.T) {
	fx := loadFixture(t, filepath.Join("testdata", "md-0.90-last-partition.hex"))
	start := int64(10240 * 512)
	size := fx.image.size - start
	got, err := probeChecked(t, io.NewSectionReader(fx.image, start, size), size)
	if err != nil || got.Type != LinuxRAID || got.Version != "0.90.0" {
		t.Fatalf("Probe(partition 2) = %+v, %v; want linux_raid_member 0.90.0", got, err)
	}
}

func TestEmptyAndShort(t *testing.T) {
	luksHead := make([]byte, 1024)
	copy(luksHead, luksMagic+"\x00\x02")
	for _, tc := range []struct {
		name string
		r    io.ReaderAt
		size int64
	}{
		{"nil reader", nil, 1 << 30},
		{"all zero, 64 MiB", newSparseImage(64 * mib), 64 * mib},
		{"all zero, 1 TiB", newSparseImage(1 << 40), 1 << 40},
		{"empty", bytes.NewReader(nil), 0},
		{"negative size", bytes.NewReader(luksHead), -1},
		{"one byte", bytes.NewReader(luksHead[:1]), 1},
		{"511 bytes", bytes.NewReader(luksHead[:511]), 511},
		{"512 bytes of LUKS header", bytes.NewReader(luksHead[:512]), 512},
		{"1 KiB of LUKS header", bytes.NewReader(luksHead), 1024},
		{"size claims more than the reader holds", bytes.NewReader(make([]byte, 600)), 1 << 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Probe(tc.r, tc.size)
			if err != nil || got != (Result{}) {
				t.Fatalf("Probe = %+v, %v; want nothing and no error", got, err)
			}
		})
	}
}

// A device larger than the reader behind it: what is there is still found, and the
// reads past its end are absences, not errors.
func TestReaderShorterThanSize(t *testing.T) {
	fx := md1Fixture("1.2")
	head := make([]byte, 8192)
	if _, err := fx.image.ReadAt(head, 0); err != nil {
		t.Fatal(err)
	}
	got, err := Probe(bytes.NewReader(head), 1<<40)
	if err != nil || got.Type != LinuxRAID {
		t.Fatalf("Probe = %+v, %v; want linux_raid_member", got, err)
	}
}

var errDevice = errors.New("input/output error")

// failingReader fails every read at or beyond from.
type failingReader struct {
	io.ReaderAt
	from int64
}

func (f failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.from {
		return 0, errDevice
	}
	return f.ReaderAt.ReadAt(p, off)
}

func TestReadErrors(t *testing.T) {
	zero := newSparseImage(64 * mib)
	for _, from := range []int64{0, 512, 4096, 32 << 10, 64 << 10, 64*mib - 4096} {
		t.Run(fmt.Sprint("from ", from), func(t *testing.T) {
			got, err := Probe(failingReader{zero, from}, zero.size)
			if !errors.Is(err, errDevice) {
				t.Fatalf("Probe = %+v, %v; want an error wrapping %v", got, err, errDevice)
			}
			if got != (Result{}) {
				t.Errorf("Probe returned %+v with its error", got)
			}
			if !strings.Contains(err.Error(), "offset") {
				t.Errorf("error %q does not say where the read failed", err)
			}
		})
	}
}

// The fuzz target's device is described by a layout: records of one flag byte (bit 0:
// the offset counts back from the end of the device), a big-endian 32-bit offset, a
// big-endian 16-bit length and that many bytes, each written over the device in turn.
// Describing the device this way keeps a 64 MiB ZFS member to a few hundred bytes of
// input, small enough for the fuzzer to mutate and minimise quickly.
const recordHeader = 7

func layoutDevice(layout []byte, size int64) *sparseImage {
	im := newSparseImage(0)
	for len(layout) >= recordHeader {
		fromEnd := layout[0]&1 != 0
		off := int64(be.Uint32(layout[1:]))
		n := min(int(be.Uint16(layout[5:])), len(layout)-recordHeader)
		data := layout[recordHeader : recordHeader+n]
		layout = layout[recordHeader+n:]
		if fromEnd {
			off = size - off
		}
		if off < 0 || off >= size || int64(n) > size-off {
			continue
		}
		im.put(off, data)
	}
	im.size = size
	return im
}

// layoutOf turns a fixture into a layout, one record per run of non-zero 32-byte lines;
// runs in the second half of the device are placed from its end.
func layoutOf(fx *fixture) []byte {
	var out []byte
	size := fx.image.size
	for _, blk := range slices.Sorted(maps.Keys(fx.image.blocks)) {
		b := fx.image.blocks[blk]
		for i := 0; i < blockSize; {
			if allZero(b[i : i+hexLine]) {
				i += hexLine
				continue
			}
			j := i
			for j < blockSize && !allZero(b[j:j+hexLine]) {
				j += hexLine
			}
			off := blk*blockSize + int64(i)
			end := min(blk*blockSize+int64(j), size)
			if off >= end {
				break
			}
			data := b[i : i+int(end-off)]
			flag, field := byte(0), off
			if off >= size/2 {
				flag, field = 1, size-off
			}
			if field <= math.MaxUint32 {
				out = append(out, flag)
				out = be.AppendUint32(out, uint32(field))
				out = be.AppendUint16(out, uint16(len(data)))
				out = append(out, data...)
			}
			i = j
		}
	}
	return out
}

func TestLayoutOfFixtures(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.hex"))
	tools, _ := filepath.Glob(filepath.Join("testdata", "tools", "*.hex"))
	for _, path := range append(paths, tools...) {
		fx := loadFixture(t, path)
		dev := layoutDevice(layoutOf(fx), fx.image.size)
		if got, err := Probe(dev, dev.size); err != nil || got != fx.want {
			t.Errorf("%s as a fuzz layout: Probe = %+v, %v; want %+v", path, got, err, fx.want)
		}
	}
}

func FuzzProbe(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.hex"))
	tools, _ := filepath.Glob(filepath.Join("testdata", "tools", "*.hex"))
	for _, path := range append(paths, tools...) {
		fx := loadFixture(f, path)
		f.Add(layoutOf(fx), fx.image.size)
	}
	f.Add([]byte{}, int64(0))
	f.Add([]byte("\x00\x00\x00\x00\x00\x00\x08LUKS\xba\xbe\x00\x01"), int64(-5))

	known := map[string]bool{"": true}
	for _, typ := range Types {
		known[typ] = true
	}
	f.Fuzz(func(t *testing.T, layout []byte, size int64) {
		dev := layoutDevice(layout, size)
		got, err := probeChecked(t, dev, size)
		if err != nil {
			t.Fatalf("Probe returned an error from a reader that never fails: %v", err)
		}
		if !known[got.Type] {
			t.Fatalf("Probe returned unknown type %q", got.Type)
		}
		if got.Type == "" && got != (Result{}) {
			t.Fatalf("Probe returned details without a type: %+v", got)
		}
		if again, _ := Probe(dev, size); again != got {
			t.Fatalf("Probe is not deterministic: %+v then %+v", got, again)
		}
		// The raw input as a device of its own, and behind a size it does not reach.
		raw := bytes.NewReader(layout)
		for _, n := range []int64{int64(len(layout)), size} {
			if res, err := probeChecked(t, raw, n); err != nil || !known[res.Type] {
				t.Fatalf("Probe(raw input, %d) = %+v, %v", n, res, err)
			}
		}
	})
}
