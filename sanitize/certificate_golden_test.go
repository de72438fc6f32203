package sanitize

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/wipe"
)

var updateCerts = flag.Bool("update-certs", false, "rewrite the golden certificates in testdata/certificates")

// The certificate a run's evidence makes is what auditors and cosign read: for fixed
// evidence it must stay byte for byte what testdata/certificates holds (the random
// ID aside). Rewrite them only for an intended change (go test ./sanitize -run
// TestCertificateGolden -update-certs), after reading the new ones.
func TestCertificateGolden(t *testing.T) {
	fw := evidence(wipe.OutcomeCompleted, true)
	fw.Record.Method, fw.Record.Title, fw.Record.NISTClass = wipe.MethodNISTPurge, "NIST SP 800-88 Purge", wipe.ClassPurge
	fw.Record.Technique, fw.Record.IOMode, fw.Record.Passes = wipe.TechATASanitizeCrypto, "firmware", []wipe.PassRecord{}
	fw.Record.Choice = &wipe.Choice{Technique: wipe.TechATASanitizeCrypto, Class: wipe.ClassPurge, Reason: "the drive supports it"}
	at := time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)
	fw.Record.Firmware = &wipe.FirmwareRecord{Technique: wipe.TechATASanitizeCrypto, Commands: []string{"SANITIZE CRYPTO SCRAMBLE EXT"},
		HPABefore: &inventory.HPA{CurrentMaxLBA: 100, NativeMaxLBA: 200, HiddenSectors: 100},
		HPAAfter:  &inventory.HPA{CurrentMaxLBA: 200, NativeMaxLBA: 200}, Completed: true, Started: at, Finished: at.Add(time.Minute)}
	unverified := evidence(wipe.OutcomeCompleted)
	unverified.VerifyMode, unverified.Record.VerifyRequired = "none", true
	cases := map[string]Evidence{
		"sanitized":  evidence(wipe.OutcomeCompleted, true),
		"exceptions": evidence(wipe.OutcomeExceptions, true),
		"failed":     evidence(wipe.OutcomeCompleted, false),
		"aborted":    evidence(wipe.OutcomeAborted),
		"unverified": unverified,
		"purge":      fw,
	}
	for name, ev := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := NewCertificate(ev, details(), time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			c.ID = "00000000-0000-4000-8000-000000000000"
			got, err := json.MarshalIndent(c, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", "certificates", name+".json")
			if *updateCerts {
				os.MkdirAll(filepath.Dir(path), 0o755)
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (-update-certs writes it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("the certificate of %s changed:\n got: %s\nwant: %s", name, got, want)
			}
		})
	}
}
