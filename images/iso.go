package images

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
)

const (
	isoBlock = 2048
	// ISOVolume is the ISO's volume identifier.
	ISOVolume = "DECOM"
	// ISOBootImage is the El Torito EFI boot image inside the ISO: a FAT32 image holding
	// what the USB image's EFI System Partition holds.
	ISOBootImage = "/boot/efi.img"
)

// writeISO writes the ISO to dst, which must not exist: plain ISO9660 holding the EFI boot
// image efiImg (El Torito, platform EFI, no emulation) and the files in extra (ISO path →
// content; 8.3 names). work is an empty scratch directory.
//
// No Joliet and no Rock Ridge: go-diskfs v1.9.4 writes the Joliet directory tree nowhere
// (the supplementary volume descriptor points at zeros), and its Rock Ridge entries carry
// the workspace files' access and change times, which no one can set.
func writeISO(dst, work, efiImg string, extra map[string][]byte, epoch time.Time) (err error) {
	// go-diskfs builds an ISO from a directory tree ("workspace") when it finalizes.
	tree := filepath.Join(work, "iso")
	if err := os.MkdirAll(filepath.Join(tree, "boot"), 0o755); err != nil {
		return err
	}
	if err := os.Link(efiImg, filepath.Join(tree, filepath.FromSlash(ISOBootImage))); err != nil {
		if err := copyFile(efiImg, filepath.Join(tree, filepath.FromSlash(ISOBootImage))); err != nil {
			return err
		}
	}
	for name, b := range extra {
		if err := os.WriteFile(filepath.Join(tree, filepath.FromSlash(name)), b, 0o644); err != nil {
			return err
		}
	}
	// Directory records carry the files' modification times: make them the epoch.
	var paths []string
	if err := filepath.Walk(tree, func(p string, _ os.FileInfo, err error) error {
		paths = append(paths, p)
		return err
	}); err != nil {
		return err
	}
	slices.Reverse(paths) // children before their directory
	for _, p := range paths {
		if err := os.Chtimes(p, epoch, epoch); err != nil {
			return err
		}
	}

	f, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	fs, err := iso9660.Create(file.New(f, false), 0, 0, isoBlock, tree)
	if err != nil {
		return err
	}
	err = fs.Finalize(iso9660.FinalizeOptions{
		VolumeIdentifier: ISOVolume,
		ElTorito: &iso9660.ElTorito{
			BootCatalog:     "/boot/boot.cat",
			HideBootCatalog: true, // its directory record would carry the current time
			Entries: []*iso9660.ElToritoEntry{{
				Platform:  iso9660.EFI,
				Emulation: iso9660.NoEmulation,
				BootFile:  ISOBootImage,
			}},
		},
	})
	if err != nil {
		return fmt.Errorf("finalizing the ISO: %w", err)
	}
	size, err := fixISO(f, epoch)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Sync()
}

// fixISO rewrites the dates of the ISO's volume descriptors (go-diskfs writes the current
// time) to epoch and returns the volume's size in bytes.
func fixISO(f *os.File, epoch time.Time) (int64, error) {
	var size int64
	buf := make([]byte, isoBlock)
	for lba := int64(16); ; lba++ {
		if _, err := f.ReadAt(buf, lba*isoBlock); err != nil {
			return 0, fmt.Errorf("volume descriptor %d: %w", lba, err)
		}
		if string(buf[1:6]) != "CD001" {
			return 0, fmt.Errorf("volume descriptor %d: no CD001 signature", lba)
		}
		switch buf[0] {
		case 255: // terminator
			if size == 0 {
				return 0, fmt.Errorf("no primary volume descriptor")
			}
			return size, nil
		case 1, 2: // primary, supplementary (Joliet)
			if buf[0] == 1 {
				size = int64(binary.LittleEndian.Uint32(buf[80:])) * int64(binary.LittleEndian.Uint16(buf[128:]))
			}
			date := isoDate(epoch)
			copy(buf[813:830], date)                 // creation
			copy(buf[830:847], date)                 // modification
			copy(buf[847:864], isoDate(time.Time{})) // expiration: none
			copy(buf[864:881], date)                 // effective
			if _, err := f.WriteAt(buf, lba*isoBlock); err != nil {
				return 0, err
			}
		}
		if lba > 64 {
			return 0, fmt.Errorf("no volume descriptor set terminator")
		}
	}
}

// isoDate is ISO9660's 17-byte volume descriptor date, in UTC; the zero time is "not
// specified".
func isoDate(t time.Time) []byte {
	if t.IsZero() {
		return append([]byte("0000000000000000"), 0)
	}
	t = t.UTC()
	return append([]byte(fmt.Sprintf("%04d%02d%02d%02d%02d%02d%02d",
		t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1e7)), 0)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
