//go:build linux

package devio

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"github.com/decom-project/decom/internal/loopdev"
)

// The kernel's structs, field by field, as <scsi/sg.h> and <linux/nvme_ioctl.h> lay them out on
// 64-bit Linux.
func TestStructLayouts(t *testing.T) {
	var sg sgIOHdr
	var adm nvmeAdminCmd
	var p64 nvmePassthruCmd64
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof(sg_io_hdr)", unsafe.Sizeof(sg), 88},
		{"sg_io_hdr.dxfer_len", unsafe.Offsetof(sg.DxferLen), 12},
		{"sg_io_hdr.dxferp", unsafe.Offsetof(sg.Dxferp), 16},
		{"sg_io_hdr.cmdp", unsafe.Offsetof(sg.Cmdp), 24},
		{"sg_io_hdr.sbp", unsafe.Offsetof(sg.Sbp), 32},
		{"sg_io_hdr.timeout", unsafe.Offsetof(sg.Timeout), 40},
		{"sg_io_hdr.pack_id", unsafe.Offsetof(sg.PackID), 48},
		{"sg_io_hdr.usr_ptr", unsafe.Offsetof(sg.UsrPtr), 56},
		{"sg_io_hdr.status", unsafe.Offsetof(sg.Status), 64},
		{"sg_io_hdr.sb_len_wr", unsafe.Offsetof(sg.SbLenWr), 67},
		{"sg_io_hdr.host_status", unsafe.Offsetof(sg.HostStatus), 68},
		{"sg_io_hdr.driver_status", unsafe.Offsetof(sg.DriverStatus), 70},
		{"sg_io_hdr.resid", unsafe.Offsetof(sg.Resid), 72},
		{"sg_io_hdr.info", unsafe.Offsetof(sg.Info), 80},

		{"sizeof(nvme_admin_cmd)", unsafe.Sizeof(adm), 72},
		{"nvme_admin_cmd.nsid", unsafe.Offsetof(adm.NSID), 4},
		{"nvme_admin_cmd.metadata", unsafe.Offsetof(adm.Metadata), 16},
		{"nvme_admin_cmd.addr", unsafe.Offsetof(adm.Addr), 24},
		{"nvme_admin_cmd.data_len", unsafe.Offsetof(adm.DataLen), 36},
		{"nvme_admin_cmd.cdw10", unsafe.Offsetof(adm.CDW10), 40},
		{"nvme_admin_cmd.cdw15", unsafe.Offsetof(adm.CDW15), 60},
		{"nvme_admin_cmd.timeout_ms", unsafe.Offsetof(adm.TimeoutMS), 64},
		{"nvme_admin_cmd.result", unsafe.Offsetof(adm.Result), 68},

		{"sizeof(nvme_passthru_cmd64)", unsafe.Sizeof(p64), 80},
		{"nvme_passthru_cmd64.addr", unsafe.Offsetof(p64.Addr), 24},
		{"nvme_passthru_cmd64.cdw10", unsafe.Offsetof(p64.CDW10), 40},
		{"nvme_passthru_cmd64.timeout_ms", unsafe.Offsetof(p64.TimeoutMS), 64},
		{"nvme_passthru_cmd64.result", unsafe.Offsetof(p64.Result), 72},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

// The request numbers strace prints for nvme-cli and sg3_utils.
func TestIoctlNumbers(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"SG_IO", sgIO, 0x2285},
		{"SG_GET_VERSION_NUM", sgGetVersionNum, 0x2282},
		{"NVME_IOCTL_ADMIN_CMD", nvmeIoctlAdminCmd, 0xc0484e41},
		{"NVME_IOCTL_ADMIN64_CMD", nvmeIoctlAdmin64Cmd, 0xc0504e47},
		{"_IOWR('N', 0x40, 0)", iowr('N', 0x40, 0), 0xc0004e40},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
}

func TestTimeoutMS(t *testing.T) {
	for _, c := range []struct {
		in   time.Duration
		want uint32
	}{
		{0, uint32(DefaultTimeout / time.Millisecond)},
		{-time.Second, uint32(DefaultTimeout / time.Millisecond)},
		{time.Microsecond, 1},
		{90 * time.Second, 90000},
		{24 * time.Hour, 86400000},
		{100 * 24 * time.Hour, ^uint32(0)},
	} {
		if got := timeoutMS(c.in); got != c.want {
			t.Errorf("timeoutMS(%v) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestSGErrorMessages(t *testing.T) {
	for _, c := range []struct {
		err     *SGError
		want    string
		timeout bool
	}{
		{&SGError{Host: 0x03}, "sg_io: command failed: DID_TIME_OUT", true},
		{&SGError{Host: 0x01}, "sg_io: command failed: DID_NO_CONNECT", false},
		{&SGError{Driver: 0x06}, "sg_io: command failed: DRIVER_TIMEOUT", true},
		{&SGError{Host: 0x07, Driver: 0x04}, "sg_io: command failed: DID_ERROR DRIVER_ERROR", false},
		{&SGError{Host: 0x77}, "sg_io: command failed: host status 0x77", false},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
		if got := c.err.Timeout(); got != c.timeout {
			t.Errorf("%q: Timeout() = %v, want %v", c.want, got, c.timeout)
		}
	}
}

// unsupported checks that every transport refuses path with ErrUnsupported, before sending
// anything a drive could act on.
func unsupported(t *testing.T, path string) {
	t.Helper()
	if d, err := OpenSCSI(path); !errors.Is(err, ErrUnsupported) {
		if d != nil {
			d.Close()
		}
		t.Errorf("OpenSCSI(%s) = %v, want an error wrapping ErrUnsupported", path, err)
	}

	// Past the probe: SG_IO itself. TEST UNIT READY moves no data.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	sg := NewSGDevice(f)
	defer sg.Close()
	_, err = sg.Exec(&SCSICommand{CDB: make([]byte, 6), Dir: DirNone, Timeout: time.Second})
	t.Logf("SG_IO on %s: %v", path, err)
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("Exec on %s = %v, want an error wrapping ErrUnsupported", path, err)
	}

	nv, err := OpenNVMe(path)
	if err != nil {
		t.Fatal(err)
	}
	defer nv.Close()
	buf := make([]byte, 4096)
	_, err = nv.Admin(&NVMeAdminCommand{Opcode: 0x06, CDW10: 1, Dir: DirFromDevice, Data: buf, Timeout: time.Second})
	t.Logf("NVMe admin on %s: %v", path, err)
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("Admin on %s = %v, want an error wrapping ErrUnsupported", path, err)
	}
	var status *NVMeStatusError
	if errors.As(err, &status) {
		t.Errorf("Admin on %s returned an NVMe status: %v", path, err)
	}
}

func TestRegularFileUnsupported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(path, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	unsupported(t, path)
}

func TestLoopDeviceUnsupported(t *testing.T) {
	loopdev.Require(t)
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := loopdev.CreateImage(img, 8<<20); err != nil {
		t.Fatal(err)
	}
	l, err := loopdev.Attach(img, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Detach(); err != nil {
			t.Error(err)
		}
	})
	unsupported(t, l.Path)
}

func TestOpenMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing")
	if _, err := OpenSCSI(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenSCSI(missing) = %v, want ErrNotExist", err)
	}
	if _, err := OpenNVMe(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenNVMe(missing) = %v, want ErrNotExist", err)
	}
}

func TestExecRejectsBadCommands(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	d := NewSGDevice(f)
	defer d.Close()
	for _, cmd := range []*SCSICommand{
		{CDB: nil},
		{CDB: make([]byte, 256)},
		{CDB: make([]byte, 6), Dir: Direction(7)},
	} {
		if _, err := d.Exec(cmd); err == nil || errors.Is(err, ErrUnsupported) {
			t.Errorf("Exec(%d-byte CDB, dir %d) = %v, want a validation error", len(cmd.CDB), cmd.Dir, err)
		}
	}
}
