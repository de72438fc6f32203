package ata

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/decom-project/decom/internal/devio"
)

// unhex decodes space-separated hex bytes.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The expected CDBs are assembled by hand from SAT-3's layout: byte 1 = PROTOCOL<<1 | EXTEND;
// byte 2 = CK_COND 20h | T_DIR 08h | BYT_BLOK 04h | T_LENGTH (02h: in COUNT); FEATURES and
// COUNT big-endian in bytes 3-6; LBA bytes 7..12 = (31:24) (7:0) (39:32) (15:8) (47:40) (23:16).
func TestCommandCDBs(t *testing.T) {
	mustOverwrite := func(o Overwrite, f SanitizeFlags) Command {
		c, err := OverwriteExt(o, f)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name string
		cmd  Command
		dir  devio.Direction
		want string
	}{
		{"IDENTIFY DEVICE", IdentifyDevice(), devio.DirFromDevice,
			"85 08 0e 00 00 00 01 00 00 00 00 00 00 00 ec 00"},
		{"SECURITY ERASE PREPARE", SecurityErasePrepare(), devio.DirNone,
			"85 06 00 00 00 00 00 00 00 00 00 00 00 00 f3 00"},
		{"CRYPTO SCRAMBLE EXT", CryptoScrambleExt(0), devio.DirNone,
			"85 07 00 00 11 00 00 43 70 00 79 00 72 40 b4 00"},
		{"CRYPTO SCRAMBLE EXT, failure mode", CryptoScrambleExt(SanitizeFailureMode), devio.DirNone,
			"85 07 00 00 11 00 10 43 70 00 79 00 72 40 b4 00"},
		{"BLOCK ERASE EXT", BlockEraseExt(0), devio.DirNone,
			"85 07 00 00 12 00 00 42 72 00 45 00 6b 40 b4 00"},
		{"BLOCK ERASE EXT, zoned no reset", BlockEraseExt(SanitizeZonedNoReset), devio.DirNone,
			"85 07 00 00 12 80 00 42 72 00 45 00 6b 40 b4 00"},
		{"OVERWRITE EXT", mustOverwrite(Overwrite{Pattern: 0x11223344, Passes: 3, Invert: true}, 0), devio.DirNone,
			"85 07 00 00 14 00 83 11 44 57 33 4f 22 40 b4 00"},
		{"OVERWRITE EXT, 16 passes", mustOverwrite(Overwrite{Passes: 16}, SanitizeFailureMode), devio.DirNone,
			"85 07 00 00 14 00 10 00 00 57 00 4f 00 40 b4 00"},
		{"SANITIZE STATUS EXT", SanitizeStatusExt(), devio.DirNone,
			"85 07 20 00 00 00 00 00 00 00 00 00 00 40 b4 00"},
		{"SANITIZE STATUS EXT, clear failure", SanitizeStatusClearFailure(), devio.DirNone,
			"85 07 20 00 00 00 01 00 00 00 00 00 00 40 b4 00"},
		{"SANITIZE FREEZE LOCK EXT", SanitizeFreezeLockExt(), devio.DirNone,
			"85 07 00 00 20 00 00 46 6b 00 4c 00 72 40 b4 00"},
		{"SANITIZE ANTIFREEZE LOCK EXT", SanitizeAntifreezeLockExt(), devio.DirNone,
			"85 07 00 00 40 00 00 41 69 00 74 00 6e 40 b4 00"},
		{"READ NATIVE MAX ADDRESS EXT", ReadNativeMaxAddressExt(), devio.DirNone,
			"85 07 20 00 00 00 00 00 00 00 00 00 00 40 27 00"},
		{"SET MAX ADDRESS EXT, non-volatile", SetMaxAddressExt(7814037167, NonVolatile), devio.DirNone,
			"85 07 00 00 00 00 01 d1 af 01 be 00 c0 40 37 00"},
		{"SET MAX ADDRESS EXT, volatile", SetMaxAddressExt(7814037167, Volatile), devio.DirNone,
			"85 07 00 00 00 00 00 d1 af 01 be 00 c0 40 37 00"},
		{"DEVICE CONFIGURATION IDENTIFY", DeviceConfigurationIdentify(), devio.DirFromDevice,
			"85 08 0e 00 c2 00 01 00 00 00 00 00 00 00 b1 00"},
		{"GET NATIVE MAX ADDRESS EXT", GetNativeMaxAddressExt(), devio.DirNone,
			"85 07 20 00 00 00 00 00 00 00 00 00 00 40 78 00"},
		{"SET ACCESSIBLE MAX ADDRESS EXT", SetAccessibleMaxAddressExt(0x123456789ABC), devio.DirNone,
			"85 07 00 00 01 00 00 56 bc 34 9a 12 78 40 78 00"},
		{"28-bit READ DMA, LBA(27:24) in DEVICE", Command{Command: 0xC8, Count: 1, LBA: 0x0ABCDEF1, Device: 0x40, Protocol: DMA}, devio.DirFromDevice,
			"85 0c 0e 00 00 00 01 00 f1 00 de 00 bc 4a c8 00"},
		{"28-bit WRITE DMA", Command{Command: 0xCA, Count: 2, LBA: 0x10, Device: 0x40, Protocol: DMA}, devio.DirToDevice,
			"85 0c 06 00 00 00 02 00 10 00 00 00 00 40 ca 00"},
	}
	for _, tt := range tests {
		got, err := tt.cmd.CDB(tt.dir)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if want := unhex(t, tt.want); !bytes.Equal(got, want) {
			t.Errorf("%s:\n got % x\nwant % x", tt.name, got, want)
		}
	}
}

func TestSecurityCommands(t *testing.T) {
	type builder func() (Command, []byte, error)
	user := Password{Secret: []byte("hunter2")}
	master := Password{Master: true, Secret: []byte("hunter2")}
	tests := []struct {
		name    string
		build   builder
		opcode  byte
		control [2]byte // bytes 0-1 of the data block: word 0, little-endian
	}{
		{"set user password, high", func() (Command, []byte, error) { return SecuritySetPassword(user, SecurityHigh) }, 0xF1, [2]byte{0x00, 0x00}},
		{"set user password, maximum", func() (Command, []byte, error) { return SecuritySetPassword(user, SecurityMaximum) }, 0xF1, [2]byte{0x00, 0x01}},
		{"set master password", func() (Command, []byte, error) { return SecuritySetPassword(master, SecurityHigh) }, 0xF1, [2]byte{0x01, 0x00}},
		{"unlock, user", func() (Command, []byte, error) { return SecurityUnlock(user) }, 0xF2, [2]byte{0x00, 0x00}},
		{"erase unit, user, normal", func() (Command, []byte, error) { return SecurityEraseUnit(user, NormalErase) }, 0xF4, [2]byte{0x00, 0x00}},
		{"erase unit, user, enhanced", func() (Command, []byte, error) { return SecurityEraseUnit(user, EnhancedErase) }, 0xF4, [2]byte{0x02, 0x00}},
		{"erase unit, master, enhanced", func() (Command, []byte, error) { return SecurityEraseUnit(master, EnhancedErase) }, 0xF4, [2]byte{0x03, 0x00}},
		{"disable password, master", func() (Command, []byte, error) { return SecurityDisablePassword(master) }, 0xF6, [2]byte{0x01, 0x00}},
	}
	for _, tt := range tests {
		c, data, err := tt.build()
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		cdb, err := c.CDB(devio.DirToDevice)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		// PIO data-out (5<<1 = 0Ah), T_DIR 0, BYT_BLOK, T_LENGTH in COUNT, one block.
		wantCDB := unhex(t, "85 0a 06 00 00 00 01 00 00 00 00 00 00 00 00 00")
		wantCDB[14] = tt.opcode
		if !bytes.Equal(cdb, wantCDB) {
			t.Errorf("%s: cdb % x, want % x", tt.name, cdb, wantCDB)
		}
		if len(data) != 512 {
			t.Fatalf("%s: %d-byte data block", tt.name, len(data))
		}
		if data[0] != tt.control[0] || data[1] != tt.control[1] {
			t.Errorf("%s: control word bytes % x, want % x", tt.name, data[:2], tt.control)
		}
		// The password is copied byte for byte into bytes 2-33, zero padded.
		want := make([]byte, 510)
		copy(want, "hunter2")
		if !bytes.Equal(data[2:], want) {
			t.Errorf("%s: password area % x", tt.name, data[2:40])
		}
	}

	long := Password{Secret: bytes.Repeat([]byte{'x'}, 32)}
	_, data, err := SecuritySetPassword(long, SecurityHigh)
	if err != nil || data[33] != 'x' || data[34] != 0 {
		t.Errorf("32-byte password: %v, bytes 33-34 % x", err, data[33:35])
	}
	tooLong := Password{Secret: bytes.Repeat([]byte{'x'}, 33)}
	if _, _, err := SecuritySetPassword(tooLong, SecurityHigh); err == nil {
		t.Error("33-byte password: want an error")
	}
	if _, _, err := SecurityEraseUnit(tooLong, NormalErase); err == nil {
		t.Error("33-byte password, erase: want an error")
	}
}

func TestOverwriteExtPasses(t *testing.T) {
	for _, n := range []int{0, -1, 17} {
		if _, err := OverwriteExt(Overwrite{Passes: n}, 0); err == nil {
			t.Errorf("%d passes: want an error", n)
		}
	}
}

func TestCDBErrors(t *testing.T) {
	tests := []struct {
		name string
		cmd  Command
		dir  devio.Direction
	}{
		{"non-data with a transfer", SecurityErasePrepare(), devio.DirFromDevice},
		{"PIO in without a transfer", IdentifyDevice(), devio.DirNone},
		{"PIO in sent to the device", IdentifyDevice(), devio.DirToDevice},
		{"PIO out read from the device", Command{Command: 0xF1, Count: 1, Protocol: PIODataOut}, devio.DirFromDevice},
		{"DMA without a transfer", Command{Command: 0xC8, Count: 1, Protocol: DMA}, devio.DirNone},
		{"unknown protocol", Command{Command: 0xEC, Protocol: 0}, devio.DirNone},
		{"28-bit with 16-bit features", Command{Command: 0xB1, Features: 0x100, Protocol: NonData}, devio.DirNone},
		{"28-bit with 16-bit count", Command{Command: 0xC8, Count: 0x100, Protocol: DMA}, devio.DirFromDevice},
		{"28-bit with a 29-bit LBA", Command{Command: 0xC8, Count: 1, LBA: 1 << 28, Protocol: DMA}, devio.DirFromDevice},
		{"LBA(27:24) twice", Command{Command: 0xC8, Count: 1, LBA: 0x0100_0000, Device: 0x41, Protocol: DMA}, devio.DirFromDevice},
		{"48-bit with a 49-bit LBA", SetAccessibleMaxAddressExt(1 << 48), devio.DirNone},
		{"data transfer of zero blocks", Command{Command: 0xC8, Protocol: DMA}, devio.DirFromDevice},
	}
	for _, tt := range tests {
		if cdb, err := tt.cmd.CDB(tt.dir); err == nil {
			t.Errorf("%s: got % x, want an error", tt.name, cdb)
		}
	}
}
