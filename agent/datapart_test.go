package agent

import (
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
