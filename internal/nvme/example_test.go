package nvme_test

import (
	"fmt"

	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/drivesim"
	"github.com/decom-project/decom/internal/nvme"
)

// cryptoErase names the command that erases dev's media by discarding its key: Sanitize
// with the crypto erase action where the controller has it, else Format NVM with SES=2.
func cryptoErase(dev devio.NVMe) (string, error) {
	c, err := nvme.IdentifyController(dev)
	if err != nil {
		return "", err
	}
	if !c.Sanitize.CryptoErase {
		if c.FormatNVM && c.Format.CryptoErase {
			return "Format NVM, SES=2", nil
		}
		return "", fmt.Errorf("%s: no cryptographic erase", c.Model)
	}
	return "Sanitize, crypto erase", nil
}

// The controllers are simulated (package internal/drivesim), each with 1 MiB of media:
// one whose SANICAP has crypto erase, one whose Format NVM has it (OACS bit 1, FNA bit 2),
// one with neither. On a machine, dev comes from devio.OpenNVMe("/dev/nvme0").
func ExampleIdentifyController() {
	for _, cfg := range []drivesim.NVMeConfig{
		{Model: "SANITIZER", SANICAP: 1 << 0},
		{Model: "FORMATTER", OACS: 1 << 1, FNA: 1 << 2},
		{Model: "PLAIN", OACS: 1 << 1},
	} {
		cfg.Media, cfg.Size = drivesim.Memory(make([]byte, 1<<20)), 1<<20
		dev, err := drivesim.NewNVMe(cfg)
		if err != nil {
			fmt.Println(err)
			return
		}
		how, err := cryptoErase(dev)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s: %s\n", cfg.Model, how)
	}
	// Output:
	// SANITIZER: Sanitize, crypto erase
	// FORMATTER: Format NVM, SES=2
	// PLAIN: no cryptographic erase
}
