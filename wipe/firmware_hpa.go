package wipe

import (
	"context"
	"errors"
	"fmt"

	"github.com/decom-project/decom/internal/ata"
	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/inventory"
)

// Removing an ATA drive's Host Protected Area before an overwrite.

// RemoveHPA removes the Host Protected Area of ATA drive d, so that an overwrite reaches
// every sector: IDENTIFY DEVICE and READ NATIVE MAX ADDRESS EXT read the current and
// native maximum addresses; if sectors are hidden, SET MAX ADDRESS EXT (volatile: the
// area comes back at the next power cycle) raises the maximum to the native one, and a
// second IDENTIFY DEVICE confirms it. before is the HPA as found and after as left; on
// error after is the last state known. An error means the hidden sectors could not be
// made reachable, and the caller must refuse the wipe.
//
// A drive without the HPA feature set has nothing to remove: before and after say so
// and the error is nil.
func RemoveHPA(d DriveCommands) (before, after inventory.HPA, err error) {
	if d.SCSI == nil {
		return before, after, errors.New("remove HPA: the drive has no SCSI/ATA command interface")
	}
	r := &firmwareRun{ctx: context.Background(), d: d, o: FirmwareOptions{}.withDefaults()}
	defer r.restoreSenseFormat()

	id, err := r.identify()
	if err != nil {
		return before, after, fmt.Errorf("remove HPA: %w", err)
	}
	current := id.Sectors - 1
	if !id.HPASupported {
		h := inventory.HPA{CurrentMaxLBA: current}
		return h, h, nil
	}
	if !id.LBA48 {
		return before, after, errors.New("remove HPA: the drive lacks 48-bit addressing, and decom reads the Host Protected Area only with READ NATIVE MAX ADDRESS EXT")
	}
	native, err := r.readNativeMax()
	if err != nil {
		return before, after, fmt.Errorf("remove HPA: %w", err)
	}
	before = hpa(id, native)
	if before.HiddenSectors == 0 {
		return before, before, nil
	}
	// SET MAX ADDRESS EXT must immediately follow READ NATIVE MAX ADDRESS EXT (ACS-2).
	if _, err := r.ataExec("SET MAX ADDRESS EXT (volatile)", ata.SetMaxAddressExt(native, ata.Volatile), nil, devio.DirNone, 0); err != nil {
		return before, before, fmt.Errorf("remove HPA: the drive refused SET MAX ADDRESS EXT, so the %d sectors its Host Protected Area hides stay out of reach: %w",
			before.HiddenSectors, err)
	}
	id, err = r.identify()
	if err != nil {
		return before, before, fmt.Errorf("remove HPA: reading IDENTIFY DEVICE after SET MAX ADDRESS EXT: %w", err)
	}
	after = hpa(id, native)
	if after.HiddenSectors > 0 {
		return before, after, fmt.Errorf("remove HPA: after SET MAX ADDRESS EXT the drive still hides %d sectors (its maximum address is %d, the native one %d)",
			after.HiddenSectors, after.CurrentMaxLBA, native)
	}
	return before, after, nil
}

// hpa describes the Host Protected Area of a drive with IDENTIFY data id and native max
// address native.
func hpa(id ata.Identify, native uint64) inventory.HPA {
	h := inventory.HPA{Supported: id.HPASupported, Enabled: id.HPAEnabled, CurrentMaxLBA: id.Sectors - 1, NativeMaxLBA: native}
	if native > h.CurrentMaxLBA {
		h.HiddenSectors = native - h.CurrentMaxLBA
	}
	return h
}

// readNativeMax sends READ NATIVE MAX ADDRESS EXT. When fixed-format sense data drops
// the upper bits of the address, the translation layer is switched to descriptor format
// and the command sent again, so that it is the last command before a SET MAX ADDRESS.
func (r *firmwareRun) readNativeMax() (uint64, error) {
	regs, err := r.ataExec("READ NATIVE MAX ADDRESS EXT", ata.ReadNativeMaxAddressExt(), nil, devio.DirNone, 0)
	if err != nil {
		return 0, err
	}
	native, err := ata.MaxAddress(regs)
	if errors.Is(err, ata.ErrPartialRegisters) {
		if serr := r.descriptorSense(); serr != nil {
			return 0, fmt.Errorf("%w: %v", errFixedSense, serr)
		}
		if regs, err = r.ataExec("READ NATIVE MAX ADDRESS EXT", ata.ReadNativeMaxAddressExt(), nil, devio.DirNone, 0); err != nil {
			return 0, err
		}
		native, err = ata.MaxAddress(regs)
	}
	return native, err
}
