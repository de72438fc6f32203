package sanitize

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

// image makes an image file of n bytes, full of 0xA5, in the test's directory.
func image(t *testing.T, name string, n int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, bytes.Repeat([]byte{0xa5}, n), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func method(t *testing.T, name string) wipe.Method {
	t.Helper()
	m, err := wipe.LookupMethod(name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// recorder keeps the events of a run as one line each.
type recorder struct{ lines []string }

func (r *recorder) event(ev Event) {
	var s string
	switch ev := ev.(type) {
	case *Planned:
		s = fmt.Sprintf("planned %s %d", ev.Write.Method.Name, len(ev.Plans))
	case *PassStarted:
		s = fmt.Sprintf("pass-started %s %d/%d %s", filepath.Base(ev.Device), ev.Pass, ev.Passes, ev.Pattern)
	case *PassFinished:
		s = fmt.Sprintf("pass-finished %s %d", filepath.Base(ev.Device), ev.Pass.Number)
	case *Progress:
		if !ev.Final {
			return
		}
		s = fmt.Sprintf("progress %s %d final", filepath.Base(ev.Device), ev.Pass)
	case *VerifyProgress:
		if !ev.Final {
			return
		}
		s = fmt.Sprintf("verify %s %d final", filepath.Base(ev.Device), ev.Pass)
	case *CertificateWritten:
		s = fmt.Sprintf("certificate %s %s", filepath.Base(ev.Device), ev.Status)
	case *Uploaded:
		s = "uploaded"
	case *Finished:
		s = fmt.Sprintf("finished %s %s", filepath.Base(ev.Result.Device), ev.Result.SanitizationOutcome)
	case *Done:
		s = fmt.Sprintf("done %d", len(ev.Results))
	default:
		s = fmt.Sprintf("%T", ev)
	}
	r.lines = append(r.lines, s)
}

// One target's events come in the order its work happened, and the file holds
// what the last pass wrote.
func TestRunEventOrder(t *testing.T) {
	img := image(t, "a.img", 1<<20)
	var rec recorder
	results, err := Run(context.Background(), Options{Targets: []string{img}, Method: method(t, "dod-3"), Rounds: 1,
		Verify: verify.Options{Mode: verify.ModeFull}, VerifyEachPass: true, Events: rec.event})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"planned dod-3 1",
		"pass-started a.img 1/3 0x00", "progress a.img 1 final", "pass-finished a.img 1", "verify a.img 1 final",
		"pass-started a.img 2/3 0xff", "progress a.img 2 final", "pass-finished a.img 2", "verify a.img 2 final",
		"pass-started a.img 3/3 random", "progress a.img 3 final", "pass-finished a.img 3", "verify a.img 3 final",
		"finished a.img sanitized", "done 1",
	}
	if got := strings.Join(rec.lines, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	if len(results) != 1 || !results[0].Verified || len(results[0].Verification) != 3 {
		t.Fatalf("results %+v", results)
	}
	b, _ := os.ReadFile(img)
	if bytes.Count(b, []byte{0xa5}) > 1<<14 { // random data holds about 4,096 bytes of 0xA5 per MiB
		t.Errorf("the image still holds %d bytes of 0xA5", bytes.Count(b, []byte{0xa5}))
	}
}

// Confirm decides: what it leaves out is not touched; approving a target the plan
// does not hold is an error, and nothing is written.
func TestRunConfirm(t *testing.T) {
	a, b := image(t, "a.img", 1<<20), image(t, "b.img", 1<<20)
	zero := method(t, "zero")
	results, err := Run(context.Background(), Options{Targets: []string{a, b}, Method: zero, Rounds: 1,
		Verify:  verify.Options{Mode: verify.ModeFull},
		Confirm: func(_ context.Context, plans []Plan) ([]Plan, error) { return plans[1:], nil }})
	if err != nil || len(results) != 1 || results[0].Device != b {
		t.Fatalf("results %+v, %v", results, err)
	}
	if got, _ := os.ReadFile(a); !bytes.Equal(got, bytes.Repeat([]byte{0xa5}, 1<<20)) {
		t.Error("the target left out of the confirmation was written")
	}
	if got, _ := os.ReadFile(b); !bytes.Equal(got, make([]byte, 1<<20)) {
		t.Error("the confirmed target was not zeroed")
	}

	c := image(t, "c.img", 1<<20)
	_, err = Run(context.Background(), Options{Targets: []string{c}, Method: zero, Rounds: 1,
		Verify: verify.Options{Mode: VerifyNone},
		Confirm: func(_ context.Context, plans []Plan) ([]Plan, error) {
			p := plans[0]
			p.Target.Path = a
			return []Plan{p}, nil
		}})
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("approving a target not in the plan: %v, want ErrInvalid", err)
	}
	_, err = Run(context.Background(), Options{Targets: []string{c}, Method: zero, Rounds: 1,
		Confirm: func(context.Context, []Plan) ([]Plan, error) { return nil, nil }})
	if !errors.Is(err, wipe.ErrRefused) || !strings.Contains(err.Error(), "nothing confirmed") {
		t.Errorf("nothing confirmed: %v", err)
	}
	if got, _ := os.ReadFile(c); !bytes.Equal(got, bytes.Repeat([]byte{0xa5}, 1<<20)) {
		t.Error("a target nobody confirmed was written")
	}
}

// A run with a refused target asks nobody and writes nothing, not even to the
// targets the gate let through.
func TestRunRefusedTargetStopsAll(t *testing.T) {
	a := image(t, "a.img", 1<<20)
	asked := false
	_, err := Run(context.Background(), Options{Targets: []string{a, "/dev/null"}, Method: method(t, "zero"), Rounds: 1,
		Confirm: func(_ context.Context, plans []Plan) ([]Plan, error) { asked = true; return plans, nil }})
	if !errors.Is(err, wipe.ErrRefused) || asked {
		t.Fatalf("err %v, asked %v", err, asked)
	}
	if got, _ := os.ReadFile(a); !bytes.Equal(got, bytes.Repeat([]byte{0xa5}, 1<<20)) {
		t.Error("written although another target was refused")
	}
	if _, err := Run(context.Background(), Options{Targets: []string{a, a}, Method: method(t, "zero"), Rounds: 1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("the same target twice: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "gone.img")
	_, err = Run(context.Background(), Options{Targets: []string{a, missing}, Method: method(t, "zero")})
	if te := (*TargetError)(nil); !errors.As(err, &te) || te.Path != missing || !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("a target that does not exist: %v, want a TargetError naming it", err)
	}
	if _, err := Run(context.Background(), Options{Targets: []string{a}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("no method: %v", err)
	}
	if got, _ := os.ReadFile(a); !bytes.Equal(got, bytes.Repeat([]byte{0xa5}, 1<<20)) {
		t.Error("written without a method")
	}
}

// With a Certifier each target's signed certificate is written, announced, and
// verifies with the key's public half; --verify none makes it a record.
func TestRunCertifies(t *testing.T) {
	priv, _, err := certificates.GenerateUnencryptedKey("ecdsa-p256")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "k.key")
	if err := os.WriteFile(keyPath, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := certificates.LoadSigner(context.Background(), keyPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := signer.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	certDir := filepath.Join(dir, "certs")
	os.Mkdir(certDir, 0o755)
	for _, c := range []struct {
		verify, status string
	}{{verify.ModeSample, certificates.StatusCertificate}, {VerifyNone, certificates.StatusUnverifiedRecord}} {
		var rec recorder
		img := image(t, "x.img", 1<<20)
		results, err := Run(context.Background(), Options{Targets: []string{img}, Method: method(t, "zero"), Rounds: 1,
			Verify: verify.Options{Mode: c.verify, Coverage: 0.5}, Events: rec.event,
			Certify: &Certifier{Signer: signer, Dir: certDir, Details: certificates.Details{PerformedBy: certificates.Person{Name: "T"}}}})
		if err != nil {
			t.Fatal(err)
		}
		r := results[0]
		if r.CertificateStatus != c.status || !strings.Contains(strings.Join(rec.lines, "\n"), "certificate x.img "+c.status+"\nfinished x.img") {
			t.Errorf("verify %s: status %q, events:\n%s", c.verify, r.CertificateStatus, strings.Join(rec.lines, "\n"))
		}
		b, err := os.ReadFile(r.Certificate)
		if err != nil {
			t.Fatal(err)
		}
		v, err := certificates.Verify(b, []crypto.PublicKey{pk})
		if err != nil || v.Certificate.ID != r.CertificateID {
			t.Errorf("the certificate does not verify: %v", err)
		}
	}
}
