package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decom-project/decom/registry"
)

// fakeHost makes a host below dir for --sysroot: its DMI identity and hostname, and
// image files in its /data (each name's size in MiB), standing in for its drives.
func fakeHost(t *testing.T, dir, hostname, serial, uuid string, images map[string]int) string {
	t.Helper()
	root := filepath.Join(dir, hostname)
	files := map[string]string{
		"sys/class/dmi/id/product_serial": serial + "\n",
		"sys/class/dmi/id/product_uuid":   uuid + "\n",
		"proc/sys/kernel/hostname":        hostname + "\n",
		"proc/self/mountinfo":             "",
		"proc/swaps":                      "",
	}
	for name, mib := range images {
		files["data/"+name] = strings.Repeat(hostname[:1], mib<<20)
	}
	if err := os.MkdirAll(filepath.Join(root, "sys", "block"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// A job from end to end: each host's dry run writes its plan with --job, the plans
// are merged and pushed to a registry (decom plan push), host A wipes its section
// with --approved (the job comes from the plan) and one more file with --job alone;
// the registry's job view then shows host A reported with its planned drives wiped,
// host B not reported with its drive missing, and the extra file and a drive
// shredded for the job (decom cert destroy --job) flagged as not in the plan. Bad job names, a plan without a job, plans of two jobs and a --job that
// contradicts the plan are refused with their exit codes.
func TestJobEndToEnd(t *testing.T) {
	ctx := context.Background()
	dir, url, token := registryTestEnv(t, "rack-9-agents", "--public-reads")

	hostA := fakeHost(t, dir, "host-a", "SER-A", "aaaaaaaa-0000-4000-8000-00000000000a", map[string]int{"one.img": 2, "two.img": 1, "extra.img": 1})
	hostB := fakeHost(t, dir, "host-b", "SER-B", "bbbbbbbb-0000-4000-8000-00000000000b", map[string]int{"one.img": 1})
	pa, pb, merged := filepath.Join(dir, "pa.json"), filepath.Join(dir, "pb.json"), filepath.Join(dir, "rack-9.json")

	// Bad job names are usage errors; nothing is written.
	for _, bad := range []string{"rack\x079", " rack-9", strings.Repeat("x", 129)} {
		if code, _, stderr := decom(t, ctx, "--sysroot", hostA, "wipe", "/data/one.img", "--dry-run", "--plan-out", pa,
			"--method", "zero", "--no-certificate", "--job", bad); code != exitUsage || !strings.Contains(stderr, "--job: job name") {
			t.Errorf("--job %q: exit %d, %s", bad, code, stderr)
		}
	}
	if _, err := os.Stat(pa); err == nil {
		t.Fatal("a plan was written with a bad job name")
	}

	// Each host's plan carries the job; the merge keeps it.
	for _, h := range []struct{ root, out, targets string }{{hostA, pa, "/data/one.img /data/two.img"}, {hostB, pb, "/data/one.img"}} {
		args := append([]string{"--sysroot", h.root, "wipe"}, strings.Fields(h.targets)...)
		if code, _, stderr := decom(t, ctx, append(args, "--dry-run", "--plan-out", h.out, "--method", "zero", "--no-certificate", "--job", "rack-9")...); code != exitOK {
			t.Fatalf("plan %s: exit %d: %s", h.out, code, stderr)
		}
	}
	if b, _ := os.ReadFile(pa); !strings.Contains(string(b), `"job": "rack-9"`) {
		t.Fatalf("the plan lacks its job:\n%s", b)
	}
	if code, _, stderr := decom(t, ctx, "plan", "merge", pa, pb, "--out", merged, "--job", "rack-10"); code != exitBadInput || !strings.Contains(stderr, "plans of two jobs") {
		t.Errorf("merge into another job: exit %d: %s", code, stderr)
	}
	if code, _, stderr := decom(t, ctx, "plan", "merge", pa, pb, "--out", merged); code != exitOK {
		t.Fatalf("plan merge: exit %d: %s", code, stderr)
	}
	body, err := os.ReadFile(merged)
	if err != nil || !strings.Contains(string(body), `"job": "rack-9"`) {
		t.Fatalf("the merged plan lacks its job (%v):\n%s", err, body)
	}
	sum := sha256.Sum256(body)
	planSHA := hex.EncodeToString(sum[:])

	// decom plan push: needs its flags, a plan with a job, and a token the registry takes.
	if code, _, stderr := decom(t, ctx, "plan", "push", merged); code != exitUsage {
		t.Errorf("plan push without --registry: exit %d: %s", code, stderr)
	}
	noJob := filepath.Join(dir, "nojob.json")
	if code, _, stderr := decom(t, ctx, "--sysroot", hostA, "wipe", "/data/one.img", "--dry-run", "--plan-out", noJob, "--method", "zero", "--no-certificate"); code != exitOK {
		t.Fatalf("plan without a job: %s", stderr)
	}
	if code, _, stderr := decom(t, ctx, "plan", "push", noJob, "--registry", url, "--token", token); code != exitBadInput || !strings.Contains(stderr, "names no job") {
		t.Errorf("plan push of a plan without a job: exit %d: %s", code, stderr)
	}
	if code, _, stderr := decom(t, ctx, "plan", "push", merged, "--registry", url, "--token", "not-a-token"); code != exitBadInput || !strings.Contains(stderr, "401") {
		t.Errorf("plan push with a bad token: exit %d: %s", code, stderr)
	}
	code, out, stderr := decom(t, ctx, "plan", "push", merged, "--registry", url, "--token", token)
	if code != exitOK || !strings.Contains(out, `pushed for job "rack-9" (2 hosts, 3 drives), sha256 `+planSHA+": "+url+"/jobs/rack-9") {
		t.Fatalf("plan push: exit %d: %s%s", code, out, stderr)
	}
	if code, out, _ := decom(t, ctx, "plan", "push", merged, "--registry", url, "--token", token); code != exitOK || !strings.Contains(out, "already held") {
		t.Errorf("plan push again: exit %d: %s", code, out)
	}

	// Host A wipes its section: a --job that contradicts the plan is refused first.
	key, certs := filepath.Join(dir, "agent.key"), filepath.Join(dir, "certs")
	wipeArgs := []string{"--sysroot", hostA, "wipe", "--key", key, "--operator", "Ada Technician", "--cert-dir", certs,
		"--registry", url, "--token", token, "--output", "json"}
	if code, _, stderr := decom(t, ctx, append(wipeArgs, "--approved", merged, "--job", "rack-10")...); code != exitUsage ||
		!strings.Contains(stderr, `--job "rack-10" contradicts the approved plan (job "rack-9")`) {
		t.Errorf("--approved with another --job: exit %d: %s", code, stderr)
	}
	if code, _, stderr := decom(t, ctx, append(wipeArgs, "--approved", merged)...); code != exitOK {
		t.Fatalf("wipe --approved: exit %d: %s", code, stderr)
	}
	if code, _, stderr := decom(t, ctx, append(wipeArgs, "/data/extra.img", "--yes", "--method", "zero", "--job", "rack-9")...); code != exitOK {
		t.Fatalf("wipe --job: exit %d: %s", code, stderr)
	}
	bundles, _ := filepath.Glob(filepath.Join(certs, "*.sigstore.json"))
	if len(bundles) != 3 {
		t.Fatalf("%d certificates, want 3", len(bundles))
	}
	withPlan := 0
	for _, b := range bundles {
		code, out, stderr := decom(t, ctx, "cert", "show", "--key", filepath.Join(dir, "agent.pub"), b)
		if code != exitOK || !strings.Contains(out, "Job:") || !strings.Contains(out, "rack-9") {
			t.Errorf("cert show %s: exit %d, no job:\n%s%s", b, code, out, stderr)
		}
		if strings.Contains(out, "sha256:"+planSHA) {
			withPlan++
		}
	}
	if withPlan != 2 {
		t.Errorf("%d certificates state the plan's digest, want 2", withPlan)
	}

	// A drive with no plan is shredded for the job: its certificate of destruction
	// names it too, and a bad --job is refused there as well.
	destroyArgs := []string{"cert", "destroy", "--serial", "ZX42-0009", "--method", "shred", "--particle-size", "2mm",
		"--place", "Bench 3", "--operator", "Ada Technician", "--key", key, "--cert-dir", filepath.Join(dir, "destroyed"),
		"--registry", url, "--token", token}
	for _, bad := range []string{"rack\n9", "rack\x009"} {
		if code, _, stderr := decom(t, ctx, append(destroyArgs, "--job", bad)...); code != exitUsage || !strings.Contains(stderr, "--job: job name") {
			t.Errorf("cert destroy --job %q: exit %d: %s", bad, code, stderr)
		}
	}
	code, out, stderr = decom(t, ctx, append(destroyArgs, "--job", "rack-9")...)
	if code != exitOK {
		t.Fatalf("cert destroy --job: exit %d: %s", code, stderr)
	}
	if code, shown, _ := decom(t, ctx, "cert", "show", "--key", filepath.Join(dir, "agent.pub"), strings.Fields(out)[0]); code != exitOK ||
		!strings.Contains(shown, "Job:") || !strings.Contains(shown, "rack-9") {
		t.Errorf("cert show of the certificate of destruction: no job:\n%s", shown)
	}

	// The registry's job view.
	resp, err := http.Get(url + "/api/v1/jobs/rack-9")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var v registry.JobView
	if err := json.Unmarshal(raw, &v); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/jobs/rack-9: %d %v\n%s", resp.StatusCode, err, raw)
	}
	// The certificate of destruction names no host: it is shown under a host of
	// its own, flagged, as no plan lists it.
	if len(v.Hosts) != 3 || v.Hosts[0].Hostname != "host-a" || !v.Hosts[0].Reported || v.Hosts[1].Hostname != "host-b" || v.Hosts[1].Reported ||
		v.Hosts[2].Planned || len(v.Hosts[2].Drives) != 1 || v.Hosts[2].Drives[0].State != registry.DriveDestroyed || !v.Hosts[2].Drives[0].Unplanned {
		t.Fatalf("hosts: %s", raw)
	}
	state := map[string]registry.JobDrive{}
	for _, h := range v.Hosts {
		for _, d := range h.Drives {
			state[h.Hostname+":"+d.Path] = d
		}
	}
	for drive, want := range map[string]string{"host-a:/data/one.img": registry.DriveWiped, "host-a:/data/two.img": registry.DriveWiped,
		"host-a:/data/extra.img": registry.DriveWiped, "host-b:/data/one.img": registry.DriveMissing} {
		if state[drive].State != want {
			t.Errorf("%s: %+v, want %s", drive, state[drive], want)
		}
	}
	if !state["host-a:/data/extra.img"].Unplanned || state["host-a:/data/one.img"].Unplanned || v.Unplanned != 2 {
		t.Errorf("only extra.img is flagged as not in the plan: %s", raw)
	}
}
