package ata_test

import (
	"fmt"
	"time"

	"github.com/decom-project/decom/internal/ata"
	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/drivesim"
)

// identify sends IDENTIFY DEVICE inside an ATA PASS-THROUGH(16) and decodes the answer.
func identify(dev devio.SCSI) (ata.Identify, error) {
	buf := make([]byte, 512)
	if _, err := ata.Exec(dev, ata.IdentifyDevice(), buf, devio.DirFromDevice, 10*time.Second); err != nil {
		return ata.Identify{}, err
	}
	return ata.ParseIdentify(buf)
}

// The drive is simulated (package internal/drivesim): a SATA SSD of 1 MiB behind a
// SCSI/ATA translation layer. On a machine, dev comes from devio.OpenSCSI("/dev/sda").
func ExampleExec() {
	dev, err := drivesim.NewATA(drivesim.ATAConfig{
		Media: drivesim.Memory(make([]byte, 1<<20)), Size: 1 << 20,
		Model: "DECOM EXAMPLE SSD", Serial: "EX0001", Firmware: "1.0", RotationRate: 1,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	id, err := identify(dev)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s, serial %s, firmware %s\n", id.Model, id.Serial, id.Firmware)
	fmt.Printf("%d sectors of %d bytes, solid state: %v\n", id.Sectors, id.LogicalSectorSize, id.NonRotating())
	// Output:
	// DECOM EXAMPLE SSD, serial EX0001, firmware 1.0
	// 2048 sectors of 512 bytes, solid state: true
}
