package images

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/diskfs/go-diskfs/filesystem"
)

// fatFile is one file to put on a FAT filesystem: from a host file or from bytes.
type fatFile struct {
	host string
	data []byte
}

// fatTree is what a FAT filesystem holds: files by path ("/EFI/BOOT/BOOTX64.EFI") and
// directories that may be empty.
type fatTree struct {
	files map[string]fatFile
	dirs  []string
}

func (t *fatTree) size() (int64, error) {
	var n int64
	for _, f := range t.files {
		if f.host == "" {
			n += int64(len(f.data))
			continue
		}
		st, err := os.Stat(f.host)
		if err != nil {
			return 0, err
		}
		n += st.Size()
	}
	return n, nil
}

// epochEnv serialises the use of SOURCE_DATE_EPOCH: go-diskfs dates FAT directory entries
// (and volume labels) with it, read from the process environment, else with the current
// time.
var epochEnv sync.Mutex

// withEpoch runs fn with SOURCE_DATE_EPOCH set to epoch in the process environment, and
// restores it afterwards.
func withEpoch(epoch int64, fn func() error) error {
	epochEnv.Lock()
	defer epochEnv.Unlock()
	old, had := os.LookupEnv("SOURCE_DATE_EPOCH")
	if err := os.Setenv("SOURCE_DATE_EPOCH", strconv.FormatInt(epoch, 10)); err != nil {
		return err
	}
	defer func() {
		if had {
			os.Setenv("SOURCE_DATE_EPOCH", old)
		} else {
			os.Unsetenv("SOURCE_DATE_EPOCH")
		}
	}()
	return fn()
}

// fill writes t onto fs: directories first, then files, each in sorted order, every entry
// dated epoch.
func (t *fatTree) fill(fs filesystem.FileSystem, epoch time.Time) error {
	dirs := map[string]bool{}
	for _, d := range t.dirs {
		dirs[d] = true
	}
	for p := range t.files {
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	dl := slices.Sorted(maps.Keys(dirs))
	for _, d := range dl {
		if err := fs.Mkdir(d); err != nil {
			return fmt.Errorf("mkdir %s: %w", d, err)
		}
	}
	fl := slices.Sorted(maps.Keys(t.files))
	for _, p := range fl {
		if err := writeFATFile(fs, p, t.files[p]); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	for _, p := range append(dl, fl...) {
		if err := fs.Chtimes(p, epoch, epoch, epoch); err != nil {
			return fmt.Errorf("dating %s: %w", p, err)
		}
	}
	return nil
}

func writeFATFile(fs filesystem.FileSystem, p string, f fatFile) error {
	w, err := fs.OpenFile(p, os.O_CREATE|os.O_RDWR|os.O_TRUNC)
	if err != nil {
		return err
	}
	// One write per file: go-diskfs writes the allocation tables out on every write.
	data := f.data
	if f.host != "" {
		data, err = os.ReadFile(f.host)
	}
	if err == nil {
		_, err = w.Write(data)
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}

// setFATSerial writes the volume serial number of the FAT32 filesystem that starts at
// offset start of f, in its boot sector and the backup boot sector (sector 6).
func setFATSerial(f io.WriterAt, start int64, serial uint32) error {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], serial)
	for _, sector := range []int64{0, 6} {
		if _, err := f.WriteAt(b[:], start+sector*512+0x43); err != nil {
			return err
		}
	}
	return nil
}

// fatLabel is the volume label as FAT stores it: 11 bytes, upper case, space padded.
func fatLabel(s string) string {
	return fmt.Sprintf("%-11.11s", strings.ToUpper(s))
}

// finishFAT32 completes what go-diskfs leaves unfinished on the FAT32 filesystem at offset
// start of f, so that fsck.fat (and Windows' chkdsk) find nothing to fix:
//
//   - the ".." entry of a directory in the root directory holds the root's cluster number,
//     where the FAT specification wants 0;
//   - the FSInfo sector (and its backup) says "unknown" for the free cluster count and the
//     next free cluster: they are counted here.
func finishFAT32(f interface {
	io.ReaderAt
	io.WriterAt
}, start int64) error {
	bs := make([]byte, 512)
	if _, err := f.ReadAt(bs, start); err != nil {
		return err
	}
	bytesPerSector := int64(binary.LittleEndian.Uint16(bs[11:]))
	sectorsPerCluster := int64(bs[13])
	reserved := int64(binary.LittleEndian.Uint16(bs[14:]))
	fats := int64(bs[16])
	fatSectors := int64(binary.LittleEndian.Uint32(bs[36:]))
	root := binary.LittleEndian.Uint32(bs[44:])
	if bytesPerSector == 0 || sectorsPerCluster == 0 || fats == 0 || fatSectors == 0 || root < 2 {
		return errors.New("not a FAT32 boot sector")
	}
	clusterSize := bytesPerSector * sectorsPerCluster
	fatStart := start + reserved*bytesPerSector
	dataStart := fatStart + fats*fatSectors*bytesPerSector
	clusterAt := func(c uint32) int64 { return dataStart + int64(c-2)*clusterSize }
	next := func(c uint32) (uint32, error) {
		var b [4]byte
		if _, err := f.ReadAt(b[:], fatStart+int64(c)*4); err != nil {
			return 0, err
		}
		return binary.LittleEndian.Uint32(b[:]) & 0x0fffffff, nil
	}
	buf := make([]byte, clusterSize)
walk:
	for c, n := root, 0; c >= 2 && c < 0x0ffffff8; n++ {
		if n > 1<<16 {
			return errors.New("root directory: cluster chain loops")
		}
		if _, err := f.ReadAt(buf, clusterAt(c)); err != nil {
			return err
		}
		for off := 0; off+32 <= len(buf); off += 32 {
			e := buf[off : off+32]
			if e[0] == 0 {
				break walk // end of the directory
			}
			if e[0] == 0xe5 || e[11]&0x0f == 0x0f || e[11]&0x18 != 0x10 || e[0] == '.' {
				continue // deleted, long name part, not a directory, or . and ..
			}
			sub := uint32(binary.LittleEndian.Uint16(e[20:]))<<16 | uint32(binary.LittleEndian.Uint16(e[26:]))
			if sub < 2 {
				continue
			}
			dotdot := make([]byte, 32)
			pos := clusterAt(sub) + 32
			if _, err := f.ReadAt(dotdot, pos); err != nil {
				return err
			}
			if string(dotdot[:11]) != "..         " {
				return fmt.Errorf("directory %q: no .. entry", strings.TrimSpace(string(e[:11])))
			}
			if uint32(binary.LittleEndian.Uint16(dotdot[20:]))<<16|uint32(binary.LittleEndian.Uint16(dotdot[26:])) == root {
				clear(dotdot[20:22])
				clear(dotdot[26:28])
				if _, err := f.WriteAt(dotdot, pos); err != nil {
					return err
				}
			}
		}
		var err error
		if c, err = next(c); err != nil {
			return err
		}
	}

	// Count the free clusters.
	totalSectors := int64(binary.LittleEndian.Uint32(bs[32:]))
	clusters := (totalSectors - reserved - fats*fatSectors) / sectorsPerCluster
	fat := make([]byte, (clusters+2)*4)
	if _, err := f.ReadAt(fat, fatStart); err != nil {
		return fmt.Errorf("reading the FAT: %w", err)
	}
	free, nextFree := uint32(0), uint32(0xffffffff)
	for c := int64(2); c < clusters+2; c++ {
		if binary.LittleEndian.Uint32(fat[c*4:])&0x0fffffff == 0 {
			free++
			if nextFree == 0xffffffff {
				nextFree = uint32(c)
			}
		}
	}
	fsInfo := int64(binary.LittleEndian.Uint16(bs[48:]))
	backup := int64(binary.LittleEndian.Uint16(bs[50:]))
	for _, sec := range []int64{fsInfo, backup + fsInfo} {
		b := make([]byte, 512)
		if _, err := f.ReadAt(b, start+sec*bytesPerSector); err != nil {
			return err
		}
		if binary.LittleEndian.Uint32(b[0:]) != 0x41615252 || binary.LittleEndian.Uint32(b[484:]) != 0x61417272 {
			if sec != fsInfo {
				continue // no backup FSInfo
			}
			return errors.New("no FSInfo sector")
		}
		binary.LittleEndian.PutUint32(b[488:], free)
		binary.LittleEndian.PutUint32(b[492:], nextFree)
		if _, err := f.WriteAt(b, start+sec*bytesPerSector); err != nil {
			return err
		}
	}
	return nil
}
