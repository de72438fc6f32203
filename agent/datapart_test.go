package agent

import (
	"encoding/binary"
	"reflect"
	"testing"
)

func TestFindPartitions(t *testing.T) {
	root := machine(t)
	data, err := FindPartitions(root, DataLabel)
	if err != nil {
		t.Fatal(err)
	}
	want := []Partition{
		{Name: "sda2", Disk: "sda", DevNo: "8:2", DiskDevNo: "8:0", Source: "GPT partition name"},
		{Name: "sdc1", Disk: "sdc", DevNo: "8:33", DiskDevNo: "8:32", Source: "FAT label"},
	}
	if !reflect.DeepEqual(data, want) {
		t.Errorf("data partitions:\n got %+v\nwant %+v", data, want)
	}
	esp, err := FindPartitions(root, ESPLabel)
	if err != nil {
		t.Fatal(err)
	}
	if len(esp) != 1 || esp[0].Name != "sda1" || esp[0].Device() != "/dev/sda1" {
		t.Errorf("ESP: %+v", esp)
	}
	if _, err := FindPartitions(t.TempDir(), DataLabel); err == nil {
		t.Error("no /sys/block: no error")
	}
}

// A stick formatted without a partition table: the whole disk is the filesystem.
func TestFindPartitionsWholeDisk(t *testing.T) {
	root := machine(t)
	writeAt(t, root+"/dev/vdb", 0, fat16BootSector("DECOM-DATA"))
	data, err := FindPartitions(root, DataLabel)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 3 || data[2] != (Partition{Name: "vdb", Disk: "vdb", DevNo: "254:16", DiskDevNo: "254:16", Source: "FAT label"}) {
		t.Errorf("data partitions: %+v", data)
	}
}

// fat16BootSector is a FAT16 boot sector as mkfs.fat -F 16 -n LABEL writes it, for a
// filesystem of 64 MiB at the start of the partition.
func fat16BootSector(label string) []byte {
	b := make([]byte, 512)
	copy(b, []byte{0xeb, 0x3c, 0x90})
	copy(b[3:], "mkfs.fat")
	binary.LittleEndian.PutUint16(b[11:], 512)    // bytes per sector
	b[13] = 4                                     // sectors per cluster
	binary.LittleEndian.PutUint16(b[14:], 4)      // reserved sectors
	b[16] = 2                                     // FATs
	binary.LittleEndian.PutUint16(b[17:], 512)    // root entries
	b[21] = 0xf8                                  // media: fixed disk
	binary.LittleEndian.PutUint16(b[22:], 64)     // sectors per FAT
	binary.LittleEndian.PutUint32(b[32:], 131072) // sectors
	b[36], b[38] = 0x80, 0x29
	copy(b[43:54], []byte(label + "           ")[:11])
	copy(b[54:], "FAT16   ")
	b[510], b[511] = 0x55, 0xaa
	return b
}

// isoVolumeDescriptorOffset is where an ISO 9660 filesystem keeps its primary volume
// descriptor: sector 16 of 2048 bytes.
const isoVolumeDescriptorOffset = 16 * 2048

// isoDescriptor is a primary volume descriptor with volume identifier id.
func isoDescriptor(id string) []byte {
	b := make([]byte, 2048)
	b[0] = 1
	copy(b[1:], "CD001")
	b[6] = 1
	copy(b[40:72], []byte(id + "                                ")[:32])
	return b
}
