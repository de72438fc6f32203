package registry

import (
	"os/exec"
	"strings"
	"testing"
)

// The registry, and the certificate package it stands on, link no drive code: the
// server never touches a drive, and an auditor's tools should not carry what does.
// The mapping from a wipe's evidence to a certificate lives in package sanitize.
func TestLinksNoDriveCode(t *testing.T) {
	forbidden := []string{"wipe", "verify", "inventory", "sanitize", "internal/ata", "internal/scsi", "internal/nvme", "internal/devio"}
	for _, pkgs := range []string{"./...", "../certificates"} {
		out, err := exec.Command("go", "list", "-deps", pkgs).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkgs, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if dep == "github.com/decom-project/decom/"+f {
					t.Errorf("%s depends on %s", pkgs, dep)
				}
			}
		}
	}
}
