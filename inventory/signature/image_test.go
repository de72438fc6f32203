package signature

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
)

// sparseImage is a device image held as its non-zero 4 KiB blocks, so that a 64 MiB
// ZFS member costs a few kilobytes. Reads past size end in io.EOF, like a file.
type sparseImage struct {
	size   int64
	blocks map[int64]*[blockSize]byte
}

const blockSize = 4096

func newSparseImage(size int64) *sparseImage {
	return &sparseImage{size: size, blocks: map[int64]*[blockSize]byte{}}
}

func (im *sparseImage) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset %d", off)
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= im.size {
			return n, io.EOF
		}
		blk, in := pos/blockSize, int(pos%blockSize)
		span := min(blockSize-in, len(p)-n, int(min(im.size-pos, blockSize)))
		if b := im.blocks[blk]; b != nil {
			copy(p[n:n+span], b[in:in+span])
		} else {
			clear(p[n : n+span])
		}
		n += span
	}
	return n, nil
}

// put writes b at off; the image grows if needed.
func (im *sparseImage) put(off int64, b []byte) {
	for i := 0; i < len(b); {
		pos := off + int64(i)
		blk, in := pos/blockSize, int(pos%blockSize)
		if im.blocks[blk] == nil {
			im.blocks[blk] = new([blockSize]byte)
		}
		i += copy(im.blocks[blk][in:], b[i:])
	}
	im.size = max(im.size, off+int64(len(b)))
}

// writeFile writes the image as a sparse file for tools that want a path.
func (im *sparseImage) writeFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := f.Truncate(im.size); err != nil {
		f.Close()
		return err
	}
	for _, blk := range slices.Sorted(maps.Keys(im.blocks)) {
		b := im.blocks[blk][:]
		if end := im.size - blk*blockSize; end < blockSize {
			b = b[:end]
		}
		if _, err := f.WriteAt(b, blk*blockSize); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// fixture is a sparse image with what Probe should say about it, stored in testdata as
// text: "#" comments, "size N", "want field=value", "blkid skip reason", and the
// non-zero bytes as "OFFSET: HEX" lines of at most 32 bytes.
type fixture struct {
	comment   []string
	image     *sparseImage
	want      Result
	blkidSkip string // why blkid is not asked to agree; empty when it is
}

const hexLine = 32

func (fx *fixture) encode() []byte {
	var w bytes.Buffer
	for _, c := range fx.comment {
		fmt.Fprintf(&w, "# %s\n", c)
	}
	fmt.Fprintf(&w, "size %d\n", fx.image.size)
	for _, kv := range [][2]string{{"type", fx.want.Type}, {"version", fx.want.Version}, {"uuid", fx.want.UUID}, {"label", fx.want.Label}} {
		if kv[1] != "" || kv[0] == "type" {
			fmt.Fprintf(&w, "want %s=%s\n", kv[0], kv[1])
		}
	}
	if fx.blkidSkip != "" {
		fmt.Fprintf(&w, "blkid skip %s\n", fx.blkidSkip)
	}
	for _, blk := range slices.Sorted(maps.Keys(fx.image.blocks)) {
		b := fx.image.blocks[blk]
		for i := 0; i < blockSize; i += hexLine {
			line := b[i : i+hexLine]
			if allZero(line) {
				continue
			}
			fmt.Fprintf(&w, "%08x: %x\n", blk*blockSize+int64(i), line)
		}
	}
	return w.Bytes()
}

func decodeFixture(data []byte) (*fixture, error) {
	fx := &fixture{image: newSparseImage(0)}
	sc := bufio.NewScanner(bytes.NewReader(data))
	size := int64(-1)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case line == "":
		case strings.HasPrefix(line, "# "):
			fx.comment = append(fx.comment, line[2:])
		case strings.HasPrefix(line, "size "):
			v, err := strconv.ParseInt(line[5:], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", n, err)
			}
			size = v
		case strings.HasPrefix(line, "want "):
			k, v, _ := strings.Cut(line[5:], "=")
			switch k {
			case "type":
				fx.want.Type = v
			case "version":
				fx.want.Version = v
			case "uuid":
				fx.want.UUID = v
			case "label":
				fx.want.Label = v
			default:
				return nil, fmt.Errorf("line %d: unknown field %q", n, k)
			}
		case strings.HasPrefix(line, "blkid skip "):
			fx.blkidSkip = line[len("blkid skip "):]
		default:
			o, h, ok := strings.Cut(line, ": ")
			off, err1 := strconv.ParseInt(o, 16, 64)
			b, err2 := hex.DecodeString(h)
			if !ok || err1 != nil || err2 != nil {
				return nil, fmt.Errorf("line %d: not OFFSET: HEX", n)
			}
			fx.image.put(off, b)
		}
	}
	if size < 0 {
		return nil, fmt.Errorf("no size line")
	}
	if fx.image.size > size {
		return nil, fmt.Errorf("bytes past size %d", size)
	}
	fx.image.size = size
	return fx, sc.Err()
}

// recorder passes reads through and keeps a copy of every non-zero block they touch,
// so a real image can be stored as just the parts Probe looked at.
type recorder struct {
	r    io.ReaderAt
	seen *sparseImage
}

func (rc *recorder) ReadAt(p []byte, off int64) (int, error) {
	n, err := rc.r.ReadAt(p, off)
	for i := 0; i < n; i += hexLine {
		end := min(i+hexLine, n)
		if !allZero(p[i:end]) {
			rc.seen.put(off+int64(i), p[i:end])
		}
	}
	return n, err
}
