package certificates

import (
	"context"
	"crypto"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/internal/jsonint"
)

func healthFailing() *Health {
	hours, used := jsonint.Uint64(43800), 104
	return &Health{Status: "failing", Reasons: []string{"critical warning: media read-only", "3 media and data integrity errors"},
		Source: "nvme-smart-log", MeasuredAt: time.Date(2026, 11, 22, 9, 59, 0, 0, time.UTC), PowerOnHours: &hours,
		PercentageUsed: &used, CriticalWarnings: []string{"media read-only"}, DataUnitsWritten: "36893488147419103231", MediaErrors: "3"}
}

func TestHealthSummary(t *testing.T) {
	want := "FAILING: critical warning: media read-only, 3 media and data integrity errors; 43800 power-on hours, 104% of rated life used"
	if got := healthFailing().Summary(); got != want {
		t.Errorf("summary\n%s\nwant\n%s", got, want)
	}
	if got := (&Health{Status: "ok"}).Summary(); got != "ok" {
		t.Errorf("ok: %q", got)
	}
}

// A certificate with health signs and verifies with it; one without has no health field
// at all, so that certificates of drives never asked look as they did.
func TestHealthSignedAndVerified(t *testing.T) {
	c := sigTestCertificate()
	c.Media.Health = healthFailing()
	signer, pub := sigTestKey(t, "test-only-ecdsa-p256")
	b, err := Sign(context.Background(), signer, c)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(b, []crypto.PublicKey{pub})
	if err != nil {
		t.Fatal(err)
	}
	h := v.Certificate.Media.Health
	if h == nil || h.Status != "failing" || *h.PowerOnHours != 43800 || h.DataUnitsWritten != "36893488147419103231" || !h.MeasuredAt.Equal(c.Media.Health.MeasuredAt) {
		t.Errorf("verified health: %+v", h)
	}
	c.Media.Health = nil
	if b, err = Sign(context.Background(), signer, c); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "health") {
		t.Error("a certificate without health names it")
	}
}

// The PDF's media section has one line for the health, only when it was measured.
func TestWritePDFHealth(t *testing.T) {
	c := pdfTestCertificate()
	c.Media.Health = healthFailing()
	flat := strings.Join(strings.Fields(pdfTextOf(t, pdfWriteTest(t, c, "health.pdf"))), " ")
	for _, want := range []string{"Health before wipe", "FAILING: critical warning: media read-only", "43800 power-on hours"} {
		if !strings.Contains(flat, want) {
			t.Errorf("the PDF lacks %q:\n%s", want, flat)
		}
	}
	c.Media.Health = nil
	if flat := strings.Join(strings.Fields(pdfTextOf(t, pdfWriteTest(t, c, "nohealth.pdf"))), " "); strings.Contains(flat, "Health before wipe") {
		t.Error("a certificate without health has a health line")
	}
}
