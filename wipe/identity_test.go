package wipe

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/drivesim"
	"github.com/decom-project/decom/internal/loopdev"
	"github.com/decom-project/decom/internal/scsi"
	"github.com/decom-project/decom/inventory"
)

// simDrive answers the gate's identify commands with a simulated drive, standing in
// for the drive behind the descriptor the gate opened (a loop device here).
type simDrive struct {
	scsi devio.SCSI
	nvme devio.NVMe
}

func (s simDrive) readIdentity(*Handle) (answeredIdentity, error) {
	if s.nvme != nil {
		return identifyNVMe(s.nvme, 1)
	}
	return identifySCSI(s.scsi)
}

// withVPD83 adds a Device Identification page holding one NAA designator to a
// simulated SCSI disk's answers.
type withVPD83 struct {
	devio.SCSI
	naa []byte
}

func (w withVPD83) Exec(cmd *devio.SCSICommand) (devio.SCSIResult, error) {
	if c := cmd.CDB; c[0] == scsi.OpInquiry && c[1]&1 == 1 && c[2] == scsi.PageDeviceIdentification {
		desc := append([]byte{scsi.CodeSetBinary, scsi.DesignatorNAA, 0, byte(len(w.naa))}, w.naa...)
		page := append([]byte{0, scsi.PageDeviceIdentification, 0, byte(len(desc))}, desc...)
		n := copy(cmd.Data, page)
		return devio.SCSIResult{Status: devio.StatusGood, Resid: len(cmd.Data) - n}, nil
	}
	return w.SCSI.Exec(cmd)
}

// Right before the first write, the drive is asked through the opened descriptor who
// it is; a drive whose serial or WWN is not the plan's is refused, and nothing is
// written.
func TestGateConfirmsTheDriveThroughTheDescriptor(t *testing.T) {
	const size = 8 << 20
	l := loopdev.New(t, size, false, fillRandom)
	before := readBack(t, l.Path, size)
	real, err := inventory.Lookup(context.Background(), inventory.Options{}, l.Path)
	if err != nil {
		t.Fatal(err)
	}
	mem := drivesim.Memory(make([]byte, size))
	ataDrive := func(serial string) devio.SCSI {
		d, err := drivesim.NewATA(drivesim.ATAConfig{Media: mem, Size: size, Model: "SIM SSD", Serial: serial})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	nvmeDrive := func(serial string) devio.NVMe {
		d, err := drivesim.NewNVMe(drivesim.NVMeConfig{Media: mem, Size: size, Model: "SIM NVMe", Serial: serial})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	scsiDrive := func(serial string, naa string) devio.SCSI {
		d, err := drivesim.NewSCSI(drivesim.SCSIConfig{Media: mem, Size: size, Vendor: "SIM", Product: "SAS", Serial: serial})
		if err != nil {
			t.Fatal(err)
		}
		b, err := hex.DecodeString(naa)
		if err != nil {
			t.Fatal(err)
		}
		return withVPD83{d, b}
	}
	nvmeFallback := fmt.Sprintf("nvme.1d0f-%x-%x-00000001", "NV-A", "SIM NVMe")
	for _, c := range []struct {
		name        string
		transport   string
		serial, wwn string // the plan's
		drive       simDrive
		refusal     []string // empty: accepted
		confirmedBy string
		confirmed   []string
	}{
		{name: "ata same", transport: inventory.TransportSATA, serial: "SIM-A", drive: simDrive{scsi: ataDrive("SIM-A")},
			confirmedBy: ConfirmedByATA, confirmed: []string{"serial"}},
		{name: "ata udev spelling", transport: inventory.TransportSATA, serial: "WD-WX11_A", drive: simDrive{scsi: ataDrive("WD-WX11 A")},
			confirmedBy: ConfirmedByATA, confirmed: []string{"serial"}},
		{name: "ata other", transport: inventory.TransportSATA, serial: "SIM-A", drive: simDrive{scsi: ataDrive("SIM-B")},
			refusal: []string{"changed since the plan", `serial "SIM-A", now "SIM-B"`, ConfirmedByATA}},
		{name: "nvme same", transport: inventory.TransportNVMe, serial: "NV-A", wwn: nvmeFallback, drive: simDrive{nvme: nvmeDrive("NV-A")},
			confirmedBy: ConfirmedByNVMe, confirmed: []string{"serial", "WWN"}},
		{name: "nvme other", transport: inventory.TransportNVMe, serial: "NV-A", drive: simDrive{nvme: nvmeDrive("NV-B")},
			refusal: []string{"changed since the plan", `serial "NV-A", now "NV-B"`, ConfirmedByNVMe}},
		// The drive reports no EUI-64: the plan's is not compared, the serial is.
		{name: "nvme name not reported", transport: inventory.TransportNVMe, serial: "NV-A", wwn: "eui.0011223344556677",
			drive: simDrive{nvme: nvmeDrive("NV-A")}, confirmedBy: ConfirmedByNVMe, confirmed: []string{"serial"}},
		{name: "scsi same", transport: inventory.TransportSAS, serial: "SAS-1", wwn: "0x5000c500a1b2c3d4",
			drive: simDrive{scsi: scsiDrive("SAS-1", "5000c500a1b2c3d4")}, confirmedBy: ConfirmedBySCSI, confirmed: []string{"serial", "WWN"}},
		{name: "scsi other wwn", transport: inventory.TransportSAS, serial: "SAS-1", wwn: "0x5000c500a1b2c3d4",
			drive:   simDrive{scsi: scsiDrive("SAS-1", "5000c500a1b2c3d5")},
			refusal: []string{"changed since the plan", `WWN "0x5000c500a1b2c3d4", now "0x5000c500a1b2c3d5"`, ConfirmedBySCSI}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := &Gate{
				lookup: func(context.Context, string) (inventory.Device, error) {
					d := real
					d.Serial, d.WWN, d.Transport = c.serial, c.wwn, c.transport
					return d, nil
				},
				identity: c.drive,
			}
			tgt, err := g.Check(context.Background(), l.Path)
			if err != nil {
				t.Fatal(err)
			}
			d, err := g.Open(context.Background(), tgt)
			if len(c.refusal) > 0 {
				err = wipeIfOpened(d, err)
				wantRefused(t, err, c.refusal...)
				if !bytes.Equal(readBack(t, l.Path, size), before) {
					t.Fatal("a drive that is not the planned one was written")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			id := d.Target.Identity
			if id.ConfirmedBy != c.confirmedBy || !slices.Equal(id.Confirmed, append([]string{"device number", "size"}, c.confirmed...)) {
				t.Errorf("confirmed by %q: %q; want %q: %q", id.ConfirmedBy, id.Confirmed, c.confirmedBy, c.confirmed)
			}
		})
	}
}

// A loop device is confirmed through LOOP_GET_STATUS64 on the opened descriptor: its
// backing file's device and inode, as the plan saw them.
func TestGateConfirmsLoopBackingFileThroughTheDescriptor(t *testing.T) {
	l := loopdev.New(t, 8<<20, false, nil)
	var st unix.Stat_t
	if err := unix.Stat(l.Backing, &st); err != nil {
		t.Fatal(err)
	}
	g := &Gate{}
	tgt, err := g.Check(context.Background(), l.Path)
	if err != nil {
		t.Fatal(err)
	}
	if b, want := tgt.Identity.Backing, fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)); b == nil || b.FSDevNo != want || uint64(b.Inode) != st.Ino {
		t.Fatalf("plan: backing %+v; want file %d on %s", b, st.Ino, want)
	}
	d, err := g.Open(context.Background(), tgt)
	if err != nil {
		t.Fatal(err)
	}
	id := d.Target.Identity
	if id.ConfirmedBy != ConfirmedByLoop || !slices.Contains(id.Confirmed, "backing object") {
		t.Errorf("confirmed by %q: %q", id.ConfirmedBy, id.Confirmed)
	}
	// The same descriptor, held against a plan with another backing inode, or another
	// part of the same file.
	for _, change := range []func(b *inventory.Backing){
		func(b *inventory.Backing) { b.Inode++ },
		func(b *inventory.Backing) { b.Offset = 4096 },
	} {
		b := *tgt.Identity.Backing
		change(&b)
		d.Target.Identity.Backing = &b
		err = g.confirmIdentity(d)
		wantRefused(t, err, "changed since the plan", "backing object", ConfirmedByLoop)
	}
	d.Close()
}

// The image behind a loop device replaced by another file at the same path (and the
// loop device re-attached to it): the path is the plan's, the file is not.
func TestGateRefusesLoopOverReplacedBackingFile(t *testing.T) {
	const size = 8 << 20
	loopdev.Require(t)
	image := filepath.Join(t.TempDir(), "disk.img")
	if err := loopdev.CreateImage(image, size); err != nil {
		t.Fatal(err)
	}
	l, err := loopdev.Attach(image, false)
	if err != nil {
		t.Fatal(err)
	}
	// The device is the test's while attached to its files only: once detached,
	// another program may take the number, and then it is not the test's to detach.
	owned := true
	t.Cleanup(func() {
		if owned {
			if err := l.Detach(); err != nil {
				t.Errorf("cleanup of %s: %v", l.Path, err)
			}
		}
	})
	g := &Gate{}
	tgt, err := g.Check(context.Background(), l.Path)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(filepath.Dir(l.Backing), "other.img")
	otherData := bytes.Repeat([]byte{0x5a}, size) // someone else's data, the same size
	if err := os.WriteFile(other, otherData, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("losetup", "--detach", l.Path).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	owned = false
	if err := os.Rename(other, l.Backing); err != nil {
		t.Fatal(err)
	}
	// losetup refuses a device that is attached already: if another program took
	// the number meanwhile, the test stops here and leaves it alone.
	if out, err := exec.Command("losetup", l.Path, l.Backing).CombinedOutput(); err != nil {
		t.Fatalf("re-attach %s: %v: %s", l.Path, err, out)
	}
	owned = true
	err = wipeIfOpened(g.Open(context.Background(), tgt))
	wantRefused(t, err, "changed since the plan", "backing object")
	got, err := os.ReadFile(l.Backing)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, otherData) {
		t.Error("the file that replaced the planned one was written")
	}
}

func TestIdentityDiffs(t *testing.T) {
	ata := answeredIdentity{How: ConfirmedByATA, Serials: []string{"S1"}, WWNs: []string{"0x5000c500a1b2c3d4"}}
	vpd := answeredIdentity{How: ConfirmedBySCSI, Serials: []string{"S1"},
		WWNs: []string{"0x6000c500a1b2c3d4e5f6a7b8c9d0e1f2", "0x6000c500a1b2c3d4", "t10.ATA     QEMU HARDDISK   S1"}}
	nv := answeredIdentity{How: ConfirmedByNVMe, Serials: []string{"NV1"},
		WWNs: []string{"nvme.1b36-4e5631-51454d55-00000001", "uuid.0a1b2c3d-0000-4000-8000-00000000000a"}}
	for _, c := range []struct {
		plan     Identity
		got      answeredIdentity
		diffs    []string
		compared []string
	}{
		{Identity{Serial: "S1", WWN: "0x5000C500A1B2C3D4"}, ata, nil, []string{"serial", "WWN"}},
		{Identity{Serial: "S1", WWN: "naa.5000c500a1b2c3d4"}, ata, nil, []string{"serial", "WWN"}},
		{Identity{Serial: "S2", WWN: "0x5000c500a1b2c3d5"}, ata,
			[]string{`serial "S2", now "S1"`, `WWN "0x5000c500a1b2c3d5", now "0x5000c500a1b2c3d4"`}, []string{"serial", "WWN"}},
		// Forms the drive does not answer in are not compared.
		{Identity{Serial: "S1", WWN: "t10.ATA QEMU HARDDISK S1"}, ata, nil, []string{"serial"}},
		{Identity{}, ata, nil, nil},
		{Identity{Serial: "S1", WWN: "t10.ATA     QEMU HARDDISK   S1  "}, vpd, nil, []string{"serial", "WWN"}},
		{Identity{WWN: "0x6000c500a1b2c3d4"}, vpd, nil, []string{"WWN"}},
		{Identity{WWN: "0x6000c500a1b2c3d4e5f6a7b8c9d0e1f2"}, vpd, nil, []string{"WWN"}},
		{Identity{WWN: "t10.ATA QEMU HARDDISK S2"}, vpd, []string{`WWN "t10.ATA QEMU HARDDISK S2", now "t10.ATA     QEMU HARDDISK   S1"`}, []string{"WWN"}},
		{Identity{Serial: "NV1", WWN: "uuid.0a1b2c3d-0000-4000-8000-00000000000a"}, nv, nil, []string{"serial", "WWN"}},
		{Identity{Serial: "NV1", WWN: "uuid.0a1b2c3d-0000-4000-8000-00000000000b"}, nv,
			[]string{`WWN "uuid.0a1b2c3d-0000-4000-8000-00000000000b", now "uuid.0a1b2c3d-0000-4000-8000-00000000000a"`}, []string{"serial", "WWN"}},
		{Identity{Serial: "NV1", WWN: "nvme.1b36-4e5631-51454d55-00000001"}, nv, nil, []string{"serial", "WWN"}},
		{Identity{Backing: &inventory.Backing{FSDevNo: "8:1", Inode: 12, Device: "/a.img", Source: "sysfs"}},
			answeredIdentity{How: ConfirmedByLoop, Backing: &inventory.Backing{FSDevNo: "8:1", Inode: 12, Source: "ioctl"}},
			nil, []string{"backing object"}},
		{Identity{Backing: &inventory.Backing{FSDevNo: "8:1", Inode: 12}},
			answeredIdentity{How: ConfirmedByLoop, Backing: &inventory.Backing{FSDevNo: "8:1", Inode: 13}},
			[]string{"backing object file 12 on device 8:1, now file 13 on device 8:1"}, []string{"backing object"}},
		{Identity{Backing: &inventory.Backing{DevNo: "7:0"}},
			answeredIdentity{How: ConfirmedByLoop, Backing: &inventory.Backing{DevNo: "7:0", Offset: 512}},
			[]string{"backing object block device 7:0, now block device 7:0 (offset 512, size limit 0)"}, []string{"backing object"}},
	} {
		diffs, compared := identityDiffs(c.plan, c.got)
		if !slices.Equal(diffs, c.diffs) || !slices.Equal(compared, c.compared) {
			t.Errorf("%+v vs %+v:\n got %q, compared %q\nwant %q, compared %q", c.plan, c.got, diffs, compared, c.diffs, c.compared)
		}
	}
}

func TestParseNamespaceIDs(t *testing.T) {
	b := make([]byte, 4096)
	p := b
	put := func(typ byte, v []byte) {
		p[0], p[1] = typ, byte(len(v))
		copy(p[4:], v)
		p = p[4+len(v):]
	}
	put(1, []byte{0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77})
	put(3, []byte{0x0a, 0x1b, 0x2c, 0x3d, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 0x0a})
	put(4, []byte{0})
	put(2, make([]byte, 16)) // all zeros: not reported
	got := namespaceIDNames(parseNamespaceIDs(b))
	want := []string{"eui.0011223344556677", "uuid.0a1b2c3d-0000-4000-8000-00000000000a"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	// A descriptor longer than the data ends the list.
	if got := parseNamespaceIDs([]byte{3, 16, 0, 0, 1, 2}); len(got) != 0 {
		t.Errorf("truncated descriptor: %+v", got)
	}
}

func FuzzParseNamespaceIDs(f *testing.F) {
	f.Add([]byte{1, 8, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 3, 16, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, id := range parseNamespaceIDs(b) {
			if id.Type == 0 || len(id.Value) > 255 {
				t.Errorf("descriptor %+v from %x", id, b)
			}
		}
		for _, n := range namespaceIDNames(parseNamespaceIDs(b)) {
			if !strings.HasPrefix(n, "eui.") && !strings.HasPrefix(n, "uuid.") {
				t.Errorf("name %q", n)
			}
		}
	})
}
