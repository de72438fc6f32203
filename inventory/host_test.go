package inventory

import (
	"testing"

	"github.com/decom-project/decom/internal/sysfstest"
	"github.com/rogpeppe/go-internal/txtar"
)

func TestReadHost(t *testing.T) {
	ar := txtar.Parse([]byte(`
-- proc/sys/kernel/hostname --
rack12-node07
-- sys/class/dmi/id/:attrs --
sys_vendor=Dell Inc.
product_name=PowerEdge R640
product_serial=7XK2Q33
product_uuid=4c4c4544-0058-4b10-8032-b7c04f513333
`))
	root := t.TempDir()
	if err := sysfstest.Materialize(root, ar); err != nil {
		t.Fatal(err)
	}
	got := ReadHost(Options{Root: root})
	want := Host{Hostname: "rack12-node07", SystemVendor: "Dell Inc.", SystemProduct: "PowerEdge R640",
		SystemSerial: "7XK2Q33", SystemUUID: "4c4c4544-0058-4b10-8032-b7c04f513333"}
	if got != want {
		t.Errorf("ReadHost = %+v, want %+v", got, want)
	}

	ar = txtar.Parse([]byte(`
-- sys/class/dmi/id/:attrs --
sys_vendor=QEMU
product_serial=To Be Filled By O.E.M.
product_uuid=03000200-0400-0500-0006-000700080009
`))
	root = t.TempDir()
	if err := sysfstest.Materialize(root, ar); err != nil {
		t.Fatal(err)
	}
	if got := ReadHost(Options{Root: root}); got.SystemSerial != "" || got.SystemUUID != "" || got.SystemVendor != "QEMU" {
		t.Errorf("placeholders kept: %+v", got)
	}
	// This machine: at least a hostname.
	if h := ReadHost(Options{}); h.Hostname == "" {
		t.Error("no hostname for this machine")
	}
}
