package drivesim

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/nvme"
)

func newNVMe(t *testing.T, cfg NVMeConfig) (*NVMe, []byte) {
	t.Helper()
	data := randomData(simSize)
	cfg.Media, cfg.Size = Memory(data), simSize
	n, err := NewNVMe(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n, data
}

func TestNVMeIdentify(t *testing.T) {
	n, _ := newNVMe(t, NVMeConfig{Model: "SIM NVMe", Serial: "S123", Firmware: "1.0",
		OACS: 0x02, FNA: 0x04, SANICAP: 0x03, Formats: []uint32{512, 4096}, Format: 1})
	c, err := nvme.IdentifyController(n)
	if err != nil {
		t.Fatal(err)
	}
	if c.Model != "SIM NVMe" || c.Serial != "S123" || !c.FormatNVM || !c.Format.CryptoErase ||
		!c.Sanitize.CryptoErase || !c.Sanitize.BlockErase || c.Sanitize.Overwrite || c.NumNamespaces != 1 {
		t.Errorf("controller %+v", c)
	}
	ns, err := nvme.IdentifyNamespace(n, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ns.BlockSize != 4096 || ns.FormatIndex != 1 || ns.Size != simSize/4096 || len(ns.Formats) != 2 {
		t.Errorf("namespace %+v", ns)
	}
	if _, err := nvme.IdentifyNamespace(n, 2); !errors.Is(err, nvme.ErrInvalidNamespace) {
		t.Errorf("namespace 2: %v", err)
	}
	if ids, err := nvme.ActiveNamespaces(n); err != nil || !slices.Equal(ids, []uint32{1}) {
		t.Errorf("namespaces %v %v", ids, err)
	}
}

func format(n devio.NVMe, lbaf uint8, ses nvme.SecureErase) error {
	cmd, err := nvme.FormatNVM(1, nvme.FormatOptions{LBAFormat: lbaf, SecureErase: ses})
	if err != nil {
		return err
	}
	_, err = nvme.Exec(n, cmd)
	return err
}

func TestNVMeFormat(t *testing.T) {
	n, data := newNVMe(t, NVMeConfig{OACS: 0x02, FNA: 0x04})
	if err := format(n, 0, nvme.UserDataErase); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, make([]byte, len(data))) {
		t.Error("user data erase did not leave zeros")
	}
	if err := format(n, 1, nvme.CryptographicErase); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(data[:4096], make([]byte, 4096)) {
		t.Error("crypto erase left zeros, not fresh noise")
	}
	if ns, _ := nvme.IdentifyNamespace(n, 1); ns.BlockSize != 4096 {
		t.Errorf("format to LBA format 1 left %d-byte blocks", ns.BlockSize)
	}
	if err := format(n, 2, nvme.UserDataErase); !errors.Is(err, nvme.ErrInvalidFormat) {
		t.Errorf("unknown LBA format: %v", err)
	}

	m, mdata := newNVMe(t, NVMeConfig{OACS: 0x02})
	orig := bytes.Clone(mdata)
	if err := format(m, 0, nvme.CryptographicErase); !errors.Is(err, nvme.ErrInvalidField) {
		t.Errorf("SES 2 without FNA bit 2: %v", err)
	}
	if !bytes.Equal(mdata, orig) {
		t.Error("a refused format changed the data")
	}
	q, _ := newNVMe(t, NVMeConfig{})
	if err := format(q, 0, nvme.UserDataErase); !errors.Is(err, nvme.ErrInvalidOpcode) {
		t.Errorf("format without OACS bit 1: %v", err)
	}
}

func sanitize(n devio.NVMe, o nvme.SanitizeOptions) error {
	cmd, err := nvme.Sanitize(o)
	if err != nil {
		return err
	}
	_, err = nvme.Exec(n, cmd)
	return err
}

func TestNVMeSanitize(t *testing.T) {
	n, data := newNVMe(t, NVMeConfig{OACS: 0x02, SANICAP: 0x07})
	if st, err := nvme.ReadSanitizeStatus(n); err != nil || st.State != nvme.SanitizeNever || st.SPROG != 0xFFFF {
		t.Fatalf("before: %+v %v", st, err)
	}
	if err := sanitize(n, nvme.SanitizeOptions{Action: nvme.SanitizeOverwrite, OverwritePasses: 1, Pattern: 0xAABBCCDD}); err != nil {
		t.Fatal(err)
	}
	if err := format(n, 0, nvme.UserDataErase); !errors.Is(err, nvme.ErrSanitizeInProgress) {
		t.Errorf("format during sanitize: %v", err)
	}
	if err := sanitize(n, nvme.SanitizeOptions{Action: nvme.SanitizeBlockErase}); !errors.Is(err, nvme.ErrSanitizeInProgress) {
		t.Errorf("sanitize during sanitize: %v", err)
	}
	if _, err := nvme.IdentifyController(n); err != nil {
		t.Errorf("identify during sanitize: %v", err)
	}
	var got []float64
	for {
		st, err := nvme.ReadSanitizeStatus(n)
		if err != nil {
			t.Fatal(err)
		}
		if st.State != nvme.SanitizeInProgress {
			if st.State != nvme.SanitizeCompleted || !st.GlobalDataErased || st.CDW10&0x7 != 3 {
				t.Fatalf("after: %+v", st)
			}
			break
		}
		got = append(got, st.Progress())
	}
	if !slices.Equal(got, []float64{0.25, 0.5, 0.75}) {
		t.Errorf("progress %v", got)
	}
	if !bytes.Equal(data, bytes.Repeat([]byte{0xDD, 0xCC, 0xBB, 0xAA}, len(data)/4)) {
		t.Error("overwrite did not leave the pattern")
	}
	if err := sanitize(n, nvme.SanitizeOptions{Action: nvme.SanitizeCryptoErase}); err != nil {
		t.Fatal(err)
	}
	if n.State().SanitizeProgress != 0 || !n.State().SanitizeInProgress {
		t.Errorf("state %+v", n.State())
	}
}

func TestNVMeSanitizeFaultsAndQEMU(t *testing.T) {
	n, _ := newNVMe(t, NVMeConfig{OACS: 0x02, SANICAP: 0x02, Faults: Faults{FailAt: 0.5}})
	if err := sanitize(n, nvme.SanitizeOptions{Action: nvme.SanitizeCryptoErase}); !errors.Is(err, nvme.ErrInvalidField) {
		t.Errorf("an action SANICAP lacks: %v", err)
	}
	if err := sanitize(n, nvme.SanitizeOptions{Action: nvme.SanitizeBlockErase}); err != nil {
		t.Fatal(err)
	}
	nvme.ReadSanitizeStatus(n)
	if st, err := nvme.ReadSanitizeStatus(n); err != nil || st.State != nvme.SanitizeFailed {
		t.Fatalf("failed sanitize: %+v %v", st, err)
	}
	if err := format(n, 0, nvme.UserDataErase); !errors.Is(err, nvme.ErrSanitizeFailed) {
		t.Errorf("format after a failed sanitize: %v", err)
	}

	r, _ := newNVMe(t, NVMeConfig{SANICAP: 0x02, Faults: Faults{RegressAt: 0.5, StallAt: 0.8}})
	if err := sanitize(r, nvme.SanitizeOptions{Action: nvme.SanitizeBlockErase}); err != nil {
		t.Fatal(err)
	}
	var got []uint16
	for range 7 {
		st, _ := nvme.ReadSanitizeStatus(r)
		got = append(got, st.SPROG)
	}
	p8 := uint16(point(0.8))
	if !slices.Equal(got, []uint16{0x4000, 0x8000, 0x4000, 0x8000, 0xC000, p8, p8}) {
		t.Errorf("SPROG %#x", got)
	}

	q, _ := newNVMe(t, NVMeConfig{OACS: 0x02, SANICAP: 0x07, QEMU: true})
	err := sanitize(q, nvme.SanitizeOptions{Action: nvme.SanitizeCryptoErase})
	var se *devio.NVMeStatusError
	if !errors.Is(err, nvme.ErrInvalidOpcode) || !errors.As(err, &se) || se.Status != 0x4001 {
		t.Errorf("QEMU sanitize: %v", err)
	}
	if _, err := nvme.ReadSanitizeStatus(q); !errors.Is(err, nvme.ErrInvalidField) {
		t.Errorf("QEMU sanitize log: %v", err)
	}

	l, _ := newNVMe(t, NVMeConfig{OACS: 0x02, FNA: 0x04, Status: map[uint8]uint16{nvme.OpFormatNVM: 0x4002}})
	if err := format(l, 0, nvme.CryptographicErase); !errors.Is(err, nvme.ErrInvalidField) {
		t.Errorf("Status fault: %v", err)
	}
	if log := l.Log(); len(log) != 1 || log[0].Command != "Format NVM (SES 2)" || log[0].Result != "status 0x4002" {
		t.Errorf("log %+v", log)
	}
}

// A sanitize interrupted by a power cycle resumes where it was, and the log page keeps
// the outcome of a finished one.
func TestNVMePowerCycle(t *testing.T) {
	n, data := newNVMe(t, NVMeConfig{SANICAP: 0x07})
	if err := sanitize(n, nvme.SanitizeOptions{Action: nvme.SanitizeBlockErase}); err != nil {
		t.Fatal(err)
	}
	if st, err := nvme.ReadSanitizeStatus(n); err != nil || st.State != nvme.SanitizeInProgress || st.Progress() != 0.25 {
		t.Fatalf("before the power cycle: %+v %v", st, err)
	}
	n.PowerCycle()
	if s := n.State(); !s.SanitizeInProgress || s.SanitizeProgress != 0.25 {
		t.Fatalf("after the power cycle: %+v", s)
	}
	for {
		st, err := nvme.ReadSanitizeStatus(n)
		if err != nil {
			t.Fatal(err)
		}
		if st.State != nvme.SanitizeInProgress {
			break
		}
	}
	n.PowerCycle()
	if st, err := nvme.ReadSanitizeStatus(n); err != nil || st.State != nvme.SanitizeCompleted || st.CDW10&0x7 != 2 {
		t.Fatalf("completed, then a power cycle: %+v %v", st, err)
	}
	if !bytes.Equal(data, make([]byte, len(data))) {
		t.Error("block erase did not leave zeros")
	}

	n, _ = newNVMe(t, NVMeConfig{SANICAP: 0x07, Faults: Faults{FailAt: 0.5}})
	if err := sanitize(n, nvme.SanitizeOptions{Action: nvme.SanitizeCryptoErase}); err != nil {
		t.Fatal(err)
	}
	n.PowerCycle()
	for i := 0; i < 3; i++ {
		_, _ = nvme.ReadSanitizeStatus(n)
	}
	n.PowerCycle()
	if st, err := nvme.ReadSanitizeStatus(n); err != nil || st.State != nvme.SanitizeFailed {
		t.Fatalf("failed, then a power cycle: %+v %v", st, err)
	}
}
