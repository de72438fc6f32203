package nvme_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/nvme"
)

// fakeNVMe is a devio.NVMe that records the commands it is sent and answers with answer.
type fakeNVMe struct {
	sent   []dwords
	answer func(cmd *devio.NVMeAdminCommand) (uint32, error)
}

func (f *fakeNVMe) Admin(cmd *devio.NVMeAdminCommand) (uint32, error) {
	f.sent = append(f.sent, layout(cmd))
	return f.answer(cmd)
}

// answerWith answers every command by copying data into its buffer.
func answerWith(data []byte) func(*devio.NVMeAdminCommand) (uint32, error) {
	return func(cmd *devio.NVMeAdminCommand) (uint32, error) {
		copy(cmd.Data, data)
		return 0, nil
	}
}

// answerStatus answers every command with completion status s.
func answerStatus(s uint16) func(*devio.NVMeAdminCommand) (uint32, error) {
	return func(*devio.NVMeAdminCommand) (uint32, error) {
		return 0, &devio.NVMeStatusError{Status: s}
	}
}

func TestIdentifyController(t *testing.T) {
	dev := &fakeNVMe{answer: answerWith(load(t, "id-ctrl-datacenter"))}
	c, err := nvme.IdentifyController(dev)
	if err != nil {
		t.Fatal(err)
	}
	if c.Model != "SAMSUNG MZQL23T8HCLS-00A07" || !c.Sanitize.CryptoErase {
		t.Errorf("got %+v", c)
	}
	want := []dwords{{Opcode: 0x06, CDW10: 0x01, Dir: devio.DirFromDevice, DataLen: 4096}}
	if fmt.Sprint(dev.sent) != fmt.Sprint(want) {
		t.Errorf("sent %+v, want %+v", dev.sent, want)
	}
}

func TestIdentifyNamespace(t *testing.T) {
	dev := &fakeNVMe{answer: answerWith(load(t, "id-ns-4k"))}
	ns, err := nvme.IdentifyNamespace(dev, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ns.BlockSize != 4096 || ns.Size != 937684566 {
		t.Errorf("got %+v", ns)
	}
	want := []dwords{{Opcode: 0x06, NSID: 1, CDW10: 0x00, Dir: devio.DirFromDevice, DataLen: 4096}}
	if fmt.Sprint(dev.sent) != fmt.Sprint(want) {
		t.Errorf("sent %+v, want %+v", dev.sent, want)
	}

	if _, err := nvme.IdentifyNamespace(dev, 0); err == nil {
		t.Error("namespace 0: no error")
	}
	if len(dev.sent) != 1 {
		t.Error("namespace 0 was sent to the device")
	}
}

func TestActiveNamespacesPages(t *testing.T) {
	dev := &fakeNVMe{answer: func(cmd *devio.NVMeAdminCommand) (uint32, error) {
		var ids []uint32
		switch cmd.NSID {
		case 0:
			for i := uint32(1); i <= 1024; i++ {
				ids = append(ids, i)
			}
		case 1024:
			ids = []uint32{1025, 1026, 2000}
		default:
			return 0, fmt.Errorf("unexpected NSID %d", cmd.NSID)
		}
		for i, id := range ids {
			binary.LittleEndian.PutUint32(cmd.Data[4*i:], id)
		}
		return 0, nil
	}}
	got, err := nvme.ActiveNamespaces(dev)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1027 || got[0] != 1 || got[1023] != 1024 || got[1026] != 2000 {
		t.Errorf("got %d IDs, first %d, last %d", len(got), got[0], got[len(got)-1])
	}
	want := []dwords{
		{Opcode: 0x06, NSID: 0, CDW10: 0x02, Dir: devio.DirFromDevice, DataLen: 4096},
		{Opcode: 0x06, NSID: 1024, CDW10: 0x02, Dir: devio.DirFromDevice, DataLen: 4096},
	}
	if fmt.Sprint(dev.sent) != fmt.Sprint(want) {
		t.Errorf("sent %+v, want %+v", dev.sent, want)
	}
}

func TestActiveNamespacesNoProgress(t *testing.T) {
	// A controller that ignores NSID and always returns the same full page must not loop.
	dev := &fakeNVMe{answer: func(cmd *devio.NVMeAdminCommand) (uint32, error) {
		for i := 0; i < 1024; i++ {
			binary.LittleEndian.PutUint32(cmd.Data[4*i:], uint32(i+1))
		}
		return 0, nil
	}}
	if _, err := nvme.ActiveNamespaces(dev); err == nil {
		t.Error("no error")
	}
	if len(dev.sent) != 2 {
		t.Errorf("sent %d commands, want 2", len(dev.sent))
	}
}

func TestReadSanitizeStatus(t *testing.T) {
	dev := &fakeNVMe{answer: answerWith(load(t, "sanitize-in-progress"))}
	st, err := nvme.ReadSanitizeStatus(dev)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != nvme.SanitizeInProgress || st.SPROG != 26214 {
		t.Errorf("got %+v", st)
	}
	// Log page 81h, 512 bytes (NUMD 127), controller-wide, from offset 0.
	want := []dwords{{Opcode: 0x02, NSID: 0xFFFFFFFF, CDW10: 0x007F0081, Dir: devio.DirFromDevice, DataLen: 512}}
	if fmt.Sprint(dev.sent) != fmt.Sprint(want) {
		t.Errorf("sent %+v, want %+v", dev.sent, want)
	}
}

// QEMU's emulated controller completes commands it does not implement, Sanitize among them,
// with Invalid Command Opcode and DNR set: status 4001h.
func TestSanitizeOnQEMU(t *testing.T) {
	dev := &fakeNVMe{answer: answerStatus(0x4001)}
	cmd, err := nvme.Sanitize(nvme.SanitizeOptions{Action: nvme.SanitizeCryptoErase})
	if err != nil {
		t.Fatal(err)
	}
	_, err = nvme.Exec(dev, cmd)
	if !errors.Is(err, nvme.ErrInvalidOpcode) {
		t.Fatalf("error %v is not ErrInvalidOpcode", err)
	}
	if errors.Is(err, nvme.ErrInvalidField) {
		t.Error("error is also ErrInvalidField")
	}
	var se *devio.NVMeStatusError
	if !errors.As(err, &se) || se.Status != 0x4001 {
		t.Errorf("errors.As(*devio.NVMeStatusError) = %v", se)
	}
	var ne *nvme.StatusError
	if !errors.As(err, &ne) || ne.Command != "sanitize" {
		t.Errorf("errors.As(*nvme.StatusError) = %+v", ne)
	}
	want := "nvme sanitize: invalid command opcode (status type 0, code 0x01, do not retry): the controller does not implement this command"
	if err.Error() != want {
		t.Errorf("message\n%s\nwant\n%s", err, want)
	}
}

func TestStatusSentinels(t *testing.T) {
	sentinels := []error{
		nvme.ErrInvalidOpcode, nvme.ErrInvalidField, nvme.ErrInvalidNamespace, nvme.ErrOperationDenied,
		nvme.ErrSanitizeFailed, nvme.ErrSanitizeInProgress, nvme.ErrWriteProtected,
		nvme.ErrNamespaceNotReady, nvme.ErrFormatInProgress, nvme.ErrInvalidLogPage,
		nvme.ErrInvalidFormat, nvme.ErrSanitizeProhibited,
	}
	for _, tc := range []struct {
		status uint16 // DNR in bit 14, SCT in 10:8, SC in 7:0
		want   error
	}{
		{0x4002, nvme.ErrInvalidField},
		{0x000B, nvme.ErrInvalidNamespace},
		{0x0015, nvme.ErrOperationDenied},
		{0x001C, nvme.ErrSanitizeFailed},
		{0x001D, nvme.ErrSanitizeInProgress},
		{0x0020, nvme.ErrWriteProtected},
		{0x0082, nvme.ErrNamespaceNotReady},
		{0x0084, nvme.ErrFormatInProgress},
		{0x4109, nvme.ErrInvalidLogPage},
		{0x410A, nvme.ErrInvalidFormat},
		{0x4123, nvme.ErrSanitizeProhibited},
		{0x0123 | 0x3000, nvme.ErrSanitizeProhibited}, // CRD and More bits do not matter
		{0x0023, nil}, // generic 23h is lockdown, not the PMR prohibition
		{0x0006, nil},
		{0x0199, nil},
	} {
		_, err := nvme.Exec(&fakeNVMe{answer: answerStatus(tc.status)}, nvme.Identify(nvme.CNSController, 0))
		for _, s := range sentinels {
			if got, want := errors.Is(err, s), s == tc.want; got != want {
				t.Errorf("status %#04x: errors.Is(%q) = %v, want %v", tc.status, s, got, want)
			}
		}
		var se *devio.NVMeStatusError
		if !errors.As(err, &se) || se.Status != tc.status {
			t.Errorf("status %#04x: transport error lost: %v", tc.status, err)
		}
	}
}

func TestStatusMessages(t *testing.T) {
	for status, want := range map[uint16]string{
		0x001D: "nvme format nvm: sanitize in progress (status type 0, code 0x1d): wait for the running sanitize to finish; its progress is in the sanitize status log",
		0x410A: "nvme format nvm: invalid format (status type 1, code 0x0a, do not retry): choose an LBA format and protection setting the namespace lists",
		0x0006: "nvme format nvm: internal error (status type 0, code 0x06): the controller failed internally; check its error log",
		0x0281: "nvme format nvm: unrecovered read error (status type 2, code 0x81)",
		0x0199: "nvme format nvm: unknown status (status type 1, code 0x99)",
		0x07C0: "nvme format nvm: vendor specific status (status type 7, code 0xc0)",
	} {
		cmd, err := nvme.FormatNVM(1, nvme.FormatOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = nvme.Exec(&fakeNVMe{answer: answerStatus(status)}, cmd)
		if err == nil || err.Error() != want {
			t.Errorf("status %#04x:\n got %v\nwant %s", status, err, want)
		}
	}
}

func TestExecTransportError(t *testing.T) {
	ioctlErr := fmt.Errorf("nvme admin ioctl: %w", devio.ErrUnsupported)
	dev := &fakeNVMe{answer: func(*devio.NVMeAdminCommand) (uint32, error) { return 0, ioctlErr }}
	_, err := nvme.IdentifyController(dev)
	if !errors.Is(err, devio.ErrUnsupported) {
		t.Errorf("error %v does not wrap the transport's", err)
	}
	var se *nvme.StatusError
	if errors.As(err, &se) {
		t.Error("transport error reported as a completion status")
	}
	if want := "nvme identify: nvme admin ioctl: " + devio.ErrUnsupported.Error(); err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}

func TestExecResult(t *testing.T) {
	dev := &fakeNVMe{answer: func(*devio.NVMeAdminCommand) (uint32, error) { return 0xCAFE, nil }}
	cmd, err := nvme.Sanitize(nvme.SanitizeOptions{Action: nvme.SanitizeBlockErase})
	if err != nil {
		t.Fatal(err)
	}
	if dw0, err := nvme.Exec(dev, cmd); dw0 != 0xCAFE || err != nil {
		t.Errorf("Exec = %#x, %v; want 0xcafe, nil", dw0, err)
	}
}
