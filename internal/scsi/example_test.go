package scsi_test

import (
	"fmt"

	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/drivesim"
	"github.com/decom-project/decom/internal/scsi"
)

// inquiry asks dev for its standard INQUIRY data.
func inquiry(dev devio.SCSI) (scsi.InquiryData, error) {
	buf := make([]byte, 96)
	res, err := dev.Exec(&devio.SCSICommand{CDB: scsi.Inquiry(96), Dir: devio.DirFromDevice, Data: buf})
	if err == nil {
		err = scsi.Check(res)
	}
	if err != nil {
		return scsi.InquiryData{}, err
	}
	return scsi.ParseInquiry(buf[:len(buf)-res.Resid])
}

// The disk is simulated (package internal/drivesim): a SAS disk of 1 MiB. On a machine,
// dev comes from devio.OpenSCSI("/dev/sdb").
func ExampleInquiry() {
	dev, err := drivesim.NewSCSI(drivesim.SCSIConfig{
		Media: drivesim.Memory(make([]byte, 1<<20)), Size: 1 << 20,
		Vendor: "DECOM", Product: "EXAMPLE DISK", Revision: "0001", Serial: "EX0002",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	inq, err := inquiry(dev)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("vendor %q, product %q, revision %q\n", inq.Vendor, inq.Product, inq.Revision)
	fmt.Printf("device type %#02x, removable: %v\n", inq.DeviceType, inq.Removable)
	// Output:
	// vendor "DECOM", product "EXAMPLE DISK", revision "0001"
	// device type 0x00, removable: false
}
