package inventory

import (
	"os"
	"path/filepath"
)

// Host identifies the machine the drives are in, for certificates: its hostname and
// what the firmware says of it (DMI), where readable. DMI serials and UUIDs are
// readable by root only; without them the fields stay empty.
type Host struct {
	Hostname      string `json:"hostname"`
	SystemVendor  string `json:"system_vendor"`
	SystemProduct string `json:"system_product"`
	SystemSerial  string `json:"system_serial"`
	SystemUUID    string `json:"system_uuid"`
}

// ReadHost reads the host's identity below opts.Root.
func ReadHost(opts Options) Host {
	dmi := filepath.Join(opts.root(), "sys", "class", "dmi", "id")
	h := Host{
		Hostname:      readString(filepath.Join(opts.root(), "proc", "sys", "kernel", "hostname")),
		SystemVendor:  readString(filepath.Join(dmi, "sys_vendor")),
		SystemProduct: readString(filepath.Join(dmi, "product_name")),
		SystemSerial:  dmiValue(readString(filepath.Join(dmi, "product_serial"))),
		SystemUUID:    dmiValue(readString(filepath.Join(dmi, "product_uuid"))),
	}
	if h.Hostname == "" && opts.Root == "" {
		h.Hostname, _ = os.Hostname()
	}
	return h
}

// dmiValue drops the placeholders firmware vendors leave in unset DMI fields.
func dmiValue(s string) string {
	switch s {
	case "", "None", "Not Specified", "To Be Filled By O.E.M.", "Default string", "System Serial Number",
		"0123456789", "00000000-0000-0000-0000-000000000000", "03000200-0400-0500-0006-000700080009":
		return ""
	}
	return s
}
