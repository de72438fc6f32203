package images

import (
	"fmt"
	"time"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/partition/gpt"
)

const (
	sector = 512
	mib    = 1 << 20
	// The first partition starts at 1 MiB; the GPT and its backup take less than that.
	firstLBA = mib / sector
)

// DataLabel is the GPT partition name and FAT volume label of the data partition.
const DataLabel = "DECOM-DATA"

// ESPLabel is the GPT partition name and FAT volume label of the EFI System Partition.
const ESPLabel = "DECOM-ESP"

// usbLayout is where the partitions of the USB image go, in bytes.
type usbLayout struct {
	espStart, espSize   int64
	dataStart, dataSize int64
	total               int64
}

func layoutUSB(espSize, dataSize int64) usbLayout {
	l := usbLayout{espStart: mib, espSize: espSize}
	l.dataStart = l.espStart + espSize
	l.dataSize = dataSize
	l.total = l.dataStart + dataSize + mib // room for the backup GPT
	return l
}

// writeUSB writes the USB disk image to dst, which must not exist: a GPT with the EFI
// System Partition (esp) and the DECOM-DATA partition (data).
func writeUSB(dst string, l usbLayout, esp, data *fatTree, ids *ids, epoch time.Time) (err error) {
	d, err := diskfs.Create(dst, l.total, diskfs.SectorSize512)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := d.Close(); err == nil {
			err = cerr
		}
	}()
	table := &gpt.Table{
		LogicalSectorSize:  sector,
		PhysicalSectorSize: sector,
		ProtectiveMBR:      true,
		GUID:               ids.guid("disk"),
		Partitions: []*gpt.Partition{
			{Index: 1, Start: uint64(l.espStart / sector), End: uint64((l.espStart+l.espSize)/sector - 1),
				Type: gpt.EFISystemPartition, Name: ESPLabel, GUID: ids.guid("esp")},
			{Index: 2, Start: uint64(l.dataStart / sector), End: uint64((l.dataStart+l.dataSize)/sector - 1),
				Type: gpt.MicrosoftBasicData, Name: DataLabel, GUID: ids.guid("data")},
		},
	}
	if err := d.Partition(table); err != nil {
		return fmt.Errorf("partition table: %w", err)
	}
	f, err := d.Backend.Writable()
	if err != nil {
		return err
	}
	parts := []struct {
		index        int
		label        string
		tree         *fatTree
		start, size  int64
		serialPrefix string
	}{
		{1, ESPLabel, esp, l.espStart, l.espSize, "esp"},
		{2, DataLabel, data, l.dataStart, l.dataSize, "data"},
	}
	for _, p := range parts {
		err := withEpoch(epoch.Unix(), func() error {
			fs, err := d.CreateFilesystem(disk.FilesystemSpec{
				Partition: p.index, FSType: filesystem.TypeFat32, VolumeLabel: p.label, Reproducible: true,
			})
			if err != nil {
				return err
			}
			return p.tree.fill(fs, epoch)
		})
		if err != nil {
			return fmt.Errorf("partition %d (%s): %w", p.index, p.label, err)
		}
		if err := setFATSerial(f, p.start, ids.uint32(p.serialPrefix)); err != nil {
			return err
		}
		if err := finishFAT32(f, p.start); err != nil {
			return fmt.Errorf("partition %d (%s): %w", p.index, p.label, err)
		}
	}
	if s, ok := f.(interface{ Sync() error }); ok {
		return s.Sync()
	}
	return nil
}

// writeFATImage writes a whole-device FAT32 image (no partition table) of size bytes to
// dst, which must not exist: the EFI boot image of the ISO.
func writeFATImage(dst string, size int64, label string, tree *fatTree, serial uint32, epoch time.Time) (err error) {
	d, err := diskfs.Create(dst, size, diskfs.SectorSize512)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := d.Close(); err == nil {
			err = cerr
		}
	}()
	err = withEpoch(epoch.Unix(), func() error {
		fs, err := d.CreateFilesystem(disk.FilesystemSpec{
			Partition: 0, FSType: filesystem.TypeFat32, VolumeLabel: label, Reproducible: true,
		})
		if err != nil {
			return err
		}
		return tree.fill(fs, epoch)
	})
	if err != nil {
		return err
	}
	f, err := d.Backend.Writable()
	if err != nil {
		return err
	}
	if err := setFATSerial(f, 0, serial); err != nil {
		return err
	}
	return finishFAT32(f, 0)
}
