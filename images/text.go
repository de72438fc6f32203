package images

import _ "embed"

// dataReadme is README.txt on the DECOM-DATA partition.
//
//go:embed files/README.txt
var dataReadme []byte

// configExample is config.yaml.example on the DECOM-DATA partition (CONFIGEX.YML on the
// ISO).
//
//go:embed files/config.yaml.example
var configExample []byte

// isoReadme is README.TXT on the ISO.
const isoReadme = `decom boot ISO
==============

This ISO boots decom (UEFI only) from a server's virtual media (BMC) or a CD. It has no
writable partition: decom writes its certificates and logs to a partition labelled
DECOM-DATA on another medium attached to the machine if there is one (a USB stick
prepared with decom's USB image, or any FAT32 partition with that label); otherwise they
stay in memory and are lost at power-off. Settings come from config.yaml on that
DECOM-DATA partition, registry and registry token included (without one nothing is
uploaded), and from the kernel command line (decom.* options, within what config.yaml
allows: see decom's README).
CONFIGEX.YML is config.yaml.example: it documents the settings.
`

// ConfigExample returns config.yaml.example, the documented example of decom's config file
// that the DECOM-DATA partition holds.
func ConfigExample() []byte { return append([]byte(nil), configExample...) }
