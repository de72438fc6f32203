//go:build linux

package devio

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The Linux transports: SG_IO for SCSI CDBs (and ATA commands inside ATA PASS-THROUGH), the
// NVMe admin passthrough ioctls for NVMe. Both open the device read-only, which is enough for
// identify and log commands. A write-class command (SANITIZE, FORMAT UNIT, SECURITY ERASE)
// needs a device opened for writing: the safety gate opens it and hands the file to
// NewSGDevice or NewNVMeDevice; nothing here opens a device for writing on its own.

// From <asm-generic/ioctl.h>, <scsi/sg.h> and <scsi/scsi.h>.
const (
	iocWrite = 1 // _IOC_WRITE
	iocRead  = 2 // _IOC_READ

	sgIO              = 0x2285 // SG_IO: a bare number, not built with _IOWR
	sgGetVersionNum   = 0x2282 // SG_GET_VERSION_NUM
	sgDxferNone       = -1
	sgDxferToDev      = -2
	sgDxferFromDev    = -3
	sgInterfaceID     = 'S'
	sgMaxSenseLen     = 252  // the kernel copies SCSI_SENSE_BUFFERSIZE (96) at most; room to spare
	driverStatusMask  = 0x07 // driver_status less the DRIVER_SENSE flag (0x08)
	hostStatusOK      = 0x00 // DID_OK
	hostStatusTimeout = 0x03 // DID_TIME_OUT
	driverTimeout     = 0x06 // DRIVER_TIMEOUT
)

var (
	nvmeIoctlAdminCmd   = iowr('N', 0x41, unsafe.Sizeof(nvmeAdminCmd{}))
	nvmeIoctlAdmin64Cmd = iowr('N', 0x47, unsafe.Sizeof(nvmePassthruCmd64{}))
)

// ioc is _IOC(dir, typ, nr, size).
func ioc(dir, typ, nr, size uintptr) uintptr {
	return dir<<30 | size<<16 | typ<<8 | nr
}

// iowr is _IOWR(typ, nr, size).
func iowr(typ, nr, size uintptr) uintptr { return ioc(iocRead|iocWrite, typ, nr, size) }

// sgIOHdr is struct sg_io_hdr from <scsi/sg.h> (88 bytes on 64-bit Linux). The pointer fields
// are uintptr: the memory they point at is pinned for the length of the ioctl.
type sgIOHdr struct {
	InterfaceID    int32
	DxferDirection int32
	CmdLen         uint8
	MxSbLen        uint8
	IovecCount     uint16
	DxferLen       uint32
	Dxferp         uintptr
	Cmdp           uintptr
	Sbp            uintptr
	Timeout        uint32 // milliseconds
	Flags          uint32
	PackID         int32
	_              [4]byte
	UsrPtr         uintptr
	Status         uint8
	MaskedStatus   uint8
	MsgStatus      uint8
	SbLenWr        uint8
	HostStatus     uint16
	DriverStatus   uint16
	Resid          int32
	Duration       uint32
	Info           uint32
	_              [4]byte
}

// nvmeAdminCmd is struct nvme_admin_cmd (= nvme_passthru_cmd) from <linux/nvme_ioctl.h>, 72 bytes.
type nvmeAdminCmd struct {
	Opcode      uint8
	Flags       uint8
	Rsvd1       uint16
	NSID        uint32
	CDW2        uint32
	CDW3        uint32
	Metadata    uint64
	Addr        uint64
	MetadataLen uint32
	DataLen     uint32
	CDW10       uint32
	CDW11       uint32
	CDW12       uint32
	CDW13       uint32
	CDW14       uint32
	CDW15       uint32
	TimeoutMS   uint32
	Result      uint32
}

// nvmePassthruCmd64 is struct nvme_passthru_cmd64 from <linux/nvme_ioctl.h>, 80 bytes: the same
// command with a 64-bit result (Linux 5.6 and later).
type nvmePassthruCmd64 struct {
	Opcode      uint8
	Flags       uint8
	Rsvd1       uint16
	NSID        uint32
	CDW2        uint32
	CDW3        uint32
	Metadata    uint64
	Addr        uint64
	MetadataLen uint32
	DataLen     uint32
	CDW10       uint32
	CDW11       uint32
	CDW12       uint32
	CDW13       uint32
	CDW14       uint32
	CDW15       uint32
	TimeoutMS   uint32
	Rsvd2       uint32
	Result      uint64
}

// SGError is an SG_IO command that reached the kernel but got no SCSI answer: the host adapter
// or the driver reported a failure (DID_* in Host, DRIVER_* in Driver).
type SGError struct {
	Host   uint16 // host_status
	Driver uint16 // driver_status, without the DRIVER_SENSE flag
	Status byte   // SCSI status byte, if any came back
	Sense  []byte // sense data, if any came back
}

var hostStatusNames = map[uint16]string{
	0x01: "DID_NO_CONNECT", 0x02: "DID_BUS_BUSY", 0x03: "DID_TIME_OUT", 0x04: "DID_BAD_TARGET",
	0x05: "DID_ABORT", 0x06: "DID_PARITY", 0x07: "DID_ERROR", 0x08: "DID_RESET",
	0x09: "DID_BAD_INTR", 0x0a: "DID_PASSTHROUGH", 0x0b: "DID_SOFT_ERROR", 0x0c: "DID_IMM_RETRY",
	0x0d: "DID_REQUEUE", 0x0e: "DID_TRANSPORT_DISRUPTED", 0x0f: "DID_TRANSPORT_FAILFAST",
	0x10: "DID_TARGET_FAILURE", 0x11: "DID_NEXUS_FAILURE", 0x12: "DID_ALLOC_FAILURE",
	0x13: "DID_MEDIUM_ERROR", 0x14: "DID_TRANSPORT_MARGINAL",
}

var driverStatusNames = map[uint16]string{
	0x01: "DRIVER_BUSY", 0x02: "DRIVER_SOFT", 0x03: "DRIVER_MEDIA", 0x04: "DRIVER_ERROR",
	0x05: "DRIVER_INVALID", 0x06: "DRIVER_TIMEOUT", 0x07: "DRIVER_HARD",
}

func (e *SGError) Error() string {
	msg := "sg_io: command failed:"
	if e.Host != hostStatusOK {
		name, ok := hostStatusNames[e.Host]
		if !ok {
			name = fmt.Sprintf("host status %#x", e.Host)
		}
		msg += " " + name
	}
	if e.Driver != 0 {
		name, ok := driverStatusNames[e.Driver]
		if !ok {
			name = fmt.Sprintf("driver status %#x", e.Driver)
		}
		msg += " " + name
	}
	return msg
}

// Timeout reports whether the command timed out (DID_TIME_OUT or DRIVER_TIMEOUT).
func (e *SGError) Timeout() bool {
	return e.Host == hostStatusTimeout || e.Driver == driverTimeout
}

// SGDevice carries SCSI commands to a Linux device node through the SG_IO ioctl: an sg
// character device (/dev/sgN) or a SCSI block device (/dev/sdX, /dev/srN). It is safe for
// concurrent use; the kernel runs the commands one by one or in parallel as the device allows.
type SGDevice struct {
	f *os.File
}

var _ SCSI = (*SGDevice)(nil)

// OpenSCSI opens path read-only for SG_IO. A device whose driver does not speak SG_IO (a loop
// device, an NVMe namespace, a regular file) yields an error wrapping ErrUnsupported.
//
// Read-only is enough for INQUIRY, IDENTIFY and log pages; for commands that write, open the
// device through the safety gate and use NewSGDevice.
func OpenSCSI(path string) (*SGDevice, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	d := NewSGDevice(f)
	if err := d.probe(); err != nil {
		f.Close()
		return nil, err
	}
	return d, nil
}

// NewSGDevice wraps a device file opened elsewhere (the safety gate opens devices for
// writing). The SGDevice owns f from then on: Close closes it.
func NewSGDevice(f *os.File) *SGDevice { return &SGDevice{f: f} }

// Name is the path the device was opened by.
func (d *SGDevice) Name() string { return d.f.Name() }

// Close closes the device file.
func (d *SGDevice) Close() error { return d.f.Close() }

// probe asks the driver for its SG version: every driver that carries SG_IO answers it.
func (d *SGDevice) probe() error {
	var version int32
	err := ioctl(d.f, sgGetVersionNum, unsafe.Pointer(&version))
	if err != nil {
		return fmt.Errorf("sg_io %s: %w", d.f.Name(), wrapIoctlErr(err))
	}
	return nil
}

// Exec sends cmd with SG_IO and waits for the answer. A CHECK CONDITION (with its sense data) is
// a result, not an error; host adapter and driver failures are *SGError.
func (d *SGDevice) Exec(cmd *SCSICommand) (SCSIResult, error) {
	if len(cmd.CDB) == 0 || len(cmd.CDB) > 255 {
		return SCSIResult{}, fmt.Errorf("sg_io %s: CDB of %d bytes", d.f.Name(), len(cmd.CDB))
	}
	if len(cmd.Data) > int(^uint32(0)) {
		return SCSIResult{}, fmt.Errorf("sg_io %s: data buffer of %d bytes is too large", d.f.Name(), len(cmd.Data))
	}
	cdb := append([]byte(nil), cmd.CDB...) // the caller's CDB may live anywhere; this one is ours
	sense := make([]byte, sgMaxSenseLen)
	hdr := &sgIOHdr{
		InterfaceID: sgInterfaceID,
		CmdLen:      uint8(len(cdb)),
		MxSbLen:     uint8(len(sense)),
		Timeout:     timeoutMS(cmd.Timeout),
	}

	var pin runtime.Pinner
	defer pin.Unpin()
	hdr.Cmdp = pinned(&pin, cdb)
	hdr.Sbp = pinned(&pin, sense)
	switch cmd.Dir {
	case DirNone:
		hdr.DxferDirection = sgDxferNone
	case DirFromDevice:
		hdr.DxferDirection = sgDxferFromDev
	case DirToDevice:
		hdr.DxferDirection = sgDxferToDev
	default:
		return SCSIResult{}, fmt.Errorf("sg_io %s: unknown data direction %d", d.f.Name(), cmd.Dir)
	}
	if cmd.Dir != DirNone && len(cmd.Data) > 0 {
		hdr.DxferLen = uint32(len(cmd.Data))
		hdr.Dxferp = pinned(&pin, cmd.Data)
	} else {
		hdr.DxferDirection = sgDxferNone
	}
	pin.Pin(hdr)

	if err := ioctl(d.f, sgIO, unsafe.Pointer(hdr)); err != nil {
		if errors.Is(err, unix.EINVAL) && d.probe() == nil {
			// The driver speaks SG_IO and refused this command: a malformed one, or a
			// transfer longer than the device takes in one go. Not ErrUnsupported.
			return SCSIResult{}, fmt.Errorf("sg_io %s: %w", d.f.Name(), err)
		}
		return SCSIResult{}, fmt.Errorf("sg_io %s: %w", d.f.Name(), wrapIoctlErr(err))
	}
	runtime.KeepAlive(cmd.Data)

	res := SCSIResult{Status: hdr.Status, Resid: int(hdr.Resid)}
	if n := int(hdr.SbLenWr); n > 0 {
		res.Sense = sense[:min(n, len(sense)):min(n, len(sense))]
	}
	driver := hdr.DriverStatus & driverStatusMask
	if hdr.HostStatus != hostStatusOK || driver != 0 {
		return res, &SGError{Host: hdr.HostStatus, Driver: driver, Status: res.Status, Sense: res.Sense}
	}
	return res, nil
}

// NVMeDevice carries NVMe admin commands through the Linux passthrough ioctls, on a controller
// character device (/dev/nvme0) or a namespace block device (/dev/nvme0n1). It is safe for
// concurrent use.
type NVMeDevice struct {
	f *os.File
	// legacy is set once the 64-bit ioctl was refused and the 32-bit one worked.
	legacy atomic.Bool
}

var _ NVMe = (*NVMeDevice)(nil)

// OpenNVMe opens path read-only for admin passthrough (which needs CAP_SYS_ADMIN, not write
// access). Whether the device is an NVMe device at all shows with the first command: anything
// else yields an error wrapping ErrUnsupported.
func OpenNVMe(path string) (*NVMeDevice, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	return NewNVMeDevice(f), nil
}

// NewNVMeDevice wraps a device file opened elsewhere. The NVMeDevice owns f from then on:
// Close closes it.
func NewNVMeDevice(f *os.File) *NVMeDevice { return &NVMeDevice{f: f} }

// Name is the path the device was opened by.
func (d *NVMeDevice) Name() string { return d.f.Name() }

// Close closes the device file.
func (d *NVMeDevice) Close() error { return d.f.Close() }

// Admin sends cmd with NVME_IOCTL_ADMIN64_CMD, or NVME_IOCTL_ADMIN_CMD on kernels without it,
// and returns the completion's DW0. A completion with a non-zero status is *NVMeStatusError.
func (d *NVMeDevice) Admin(cmd *NVMeAdminCommand) (uint32, error) {
	if len(cmd.Data) > int(^uint32(0)) {
		return 0, fmt.Errorf("nvme admin %s: data buffer of %d bytes is too large", d.f.Name(), len(cmd.Data))
	}
	var pin runtime.Pinner
	defer pin.Unpin()
	var addr uint64
	var dataLen uint32
	switch cmd.Dir {
	case DirNone:
	case DirFromDevice, DirToDevice:
		if len(cmd.Data) > 0 {
			addr = uint64(pinned(&pin, cmd.Data))
			dataLen = uint32(len(cmd.Data))
		}
	default:
		return 0, fmt.Errorf("nvme admin %s: unknown data direction %d", d.f.Name(), cmd.Dir)
	}

	var (
		status uintptr
		result uint32
		err    error
	)
	if !d.legacy.Load() {
		c := &nvmePassthruCmd64{
			Opcode: cmd.Opcode, Flags: cmd.Flags, NSID: cmd.NSID, CDW2: cmd.CDW2, CDW3: cmd.CDW3,
			Addr: addr, DataLen: dataLen,
			CDW10: cmd.CDW10, CDW11: cmd.CDW11, CDW12: cmd.CDW12, CDW13: cmd.CDW13,
			CDW14: cmd.CDW14, CDW15: cmd.CDW15, TimeoutMS: timeoutMS(cmd.Timeout),
		}
		pin.Pin(c)
		status, err = ioctlRet(d.f, nvmeIoctlAdmin64Cmd, unsafe.Pointer(c))
		result = uint32(c.Result)
	}
	if d.legacy.Load() || errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL) {
		c := &nvmeAdminCmd{
			Opcode: cmd.Opcode, Flags: cmd.Flags, NSID: cmd.NSID, CDW2: cmd.CDW2, CDW3: cmd.CDW3,
			Addr: addr, DataLen: dataLen,
			CDW10: cmd.CDW10, CDW11: cmd.CDW11, CDW12: cmd.CDW12, CDW13: cmd.CDW13,
			CDW14: cmd.CDW14, CDW15: cmd.CDW15, TimeoutMS: timeoutMS(cmd.Timeout),
		}
		pin.Pin(c)
		first := err
		status, err = ioctlRet(d.f, nvmeIoctlAdminCmd, unsafe.Pointer(c))
		result = c.Result
		if err == nil && first != nil {
			d.legacy.Store(true)
		}
	}
	runtime.KeepAlive(cmd.Data)
	if err != nil {
		return 0, fmt.Errorf("nvme admin %s: opcode %#x: %w", d.f.Name(), cmd.Opcode, wrapIoctlErr(err))
	}
	if status != 0 {
		return result, &NVMeStatusError{Status: uint16(status)}
	}
	return result, nil
}

// pinned pins b's backing array and returns its address; an empty b is address 0.
func pinned(p *runtime.Pinner, b []byte) uintptr {
	if len(b) == 0 {
		return 0
	}
	p.Pin(&b[0])
	return uintptr(unsafe.Pointer(&b[0]))
}

// timeoutMS converts a command timeout to the ioctls' milliseconds, DefaultTimeout for zero.
func timeoutMS(t time.Duration) uint32 {
	if t <= 0 {
		t = DefaultTimeout
	}
	ms := t.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	if ms > int64(^uint32(0)) {
		ms = int64(^uint32(0))
	}
	return uint32(ms)
}

// ioctl runs one ioctl on f whose argument is a pointer.
func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	_, err := ioctlRet(f, req, arg)
	return err
}

// ioctlRet runs one ioctl on f and returns its non-negative return value. The file stays open
// for the length of the call even if another goroutine closes it.
//
// Signals are blocked on the calling thread for the length of the call. The sg driver abandons
// a command whose SG_IO wait a signal interrupts and, since Go's handlers restart system calls,
// the kernel would then issue the command a second time: a second SANITIZE, a second FORMAT
// UNIT. With signals blocked the wait is not interrupted, and nothing here retries a command.
func ioctlRet(f *os.File, req uintptr, arg unsafe.Pointer) (uintptr, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var all, old unix.Sigset_t
	for i := range all.Val {
		all.Val[i] = ^uint64(0)
	}
	if err := unix.PthreadSigmask(unix.SIG_SETMASK, &all, &old); err != nil {
		return 0, fmt.Errorf("blocking signals: %w", err)
	}
	defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)

	var (
		ret   uintptr
		errno syscall.Errno
	)
	ctlErr := rc.Control(func(fd uintptr) {
		ret, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(arg))
	})
	if ctlErr != nil {
		return 0, ctlErr
	}
	if errno != 0 {
		return 0, errno
	}
	return ret, nil
}

// wrapIoctlErr marks the errors with which a driver says it has no such ioctl: ENOTTY, and
// EINVAL, which is what the loop driver answers to ioctls it does not know.
func wrapIoctlErr(err error) error {
	if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) {
		return fmt.Errorf("%w (%w)", ErrUnsupported, err)
	}
	return err
}

// nvmeIoctlID is NVME_IOCTL_ID, _IO('N', 0x40): the namespace ID behind a namespace node.
const nvmeIoctlID = 0x4e40

// NamespaceID returns the ID of the namespace the device node stands for; a controller
// node (/dev/nvme0) has none and gets an error.
func (d *NVMeDevice) NamespaceID() (uint32, error) {
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, d.f.Fd(), nvmeIoctlID, 0)
	if errno != 0 {
		return 0, fmt.Errorf("nvme %s: namespace ID: %w", d.f.Name(), wrapIoctlErr(errno))
	}
	return uint32(r), nil
}
