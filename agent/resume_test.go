package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/wipe"
)

// writeJournal leaves on the fake data partition the journal of a dod-3 wipe of a
// drive, interrupted halfway through its second pass, as package sanitize writes
// it; it returns the journal's file name.
func writeJournal(t *testing.T, root, device, serial string, size uint64) string {
	t.Helper()
	m, err := wipe.LookupMethod("dod-3")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)
	j := sanitize.Journal{Version: sanitize.JournalVersion, Device: device, Kind: "disk",
		Drive:  sanitize.DriveKey{Serial: serial, Model: "Model", SizeBytes: size},
		Method: m.Name, MethodPasses: m.Passes, Rounds: 1, Passes: m.Sequence(1, false), Technique: wipe.TechOverwrite,
		Started: at, Updated: at.Add(time.Minute), ReadBack: 1,
		Done: []wipe.PassRecord{{Number: 1, Pattern: m.Passes[0], BytesWritten: size, Completed: true, Flushed: true,
			Started: at, Finished: at}},
		Current: &sanitize.JournalPass{Pass: 2, Pattern: m.Passes[1], Offset: int64(size / 2), Started: at}}
	body, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	data := fmt.Appendf(nil, "{\"journal\":%s,\n\"sha256\":%q}\n", body, hex.EncodeToString(sum[:]))
	if _, err := sanitize.ParseJournal(data); err != nil {
		t.Fatalf("the test's journal: %v", err)
	}
	name := "decom-journal_" + serial + "_0123456789abcdef.json"
	dir := filepath.Join(root, "data", "certs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// Auto mode resumes the interrupted wipe of a drive here by itself, with no target
// and no method (package sanitize finds the journals' drives and takes their
// method), before its normal run, which never wipes a resumed drive again.
func TestRunAutoResumes(t *testing.T) {
	e := newRunEnv(t)
	name := writeJournal(t, e.root, "/dev/vdb", "vm-data-0002", 512<<20)
	// A drive of another machine: shown, left alone.
	writeJournal(t, e.root, "/dev/sdz", "ELSEWHERE", 1<<30)
	// sanitize.Run finds /dev/sdb's journal too (a drive whose identity the agent
	// could not match): it must not be wiped again.
	e.cli.resumeFinds = []string{"/dev/vdb", "/dev/sdb"}
	if err := e.run(t, e.options("decom.mode=auto decom.method=nist-clear")); err != nil {
		t.Errorf("Run: %v", err)
	}
	calls := e.cli.wipeCalls()
	if len(calls) != 2 {
		t.Fatalf("runs %+v", calls)
	}
	r := e.root
	if c := calls[0]; !c.Resume || c.Restart || c.Targets != nil || c.Method != "" || c.Req.JournalDir != r+"/data/certs" {
		t.Errorf("the resume: %+v", c)
	}
	if c := calls[1]; c.Resume || c.Restart || c.Method != "nist-clear" || !reflect.DeepEqual(c.Targets, []string{"/dev/nvme0n1"}) {
		t.Errorf("the fresh wipe: %+v", c)
	}
	con := e.console.String()
	contains(t, "console", con,
		"decom: unfinished wipe: /dev/vdb (serial vm-data-0002, 512.0 MiB), dod-3: pass 2 of 3 at 50.0%, last recorded 2026-03-01T11:01:00Z (journal /data/certs/"+name+")\n",
		"decom: unfinished wipe of /dev/sdz (serial ELSEWHERE): its drive is not among the drives that may be wiped here: its journal is left as it is\n",
		"decom: plan: resume 1 interrupted wipes first, each with its journal's method:\n",
		"decom:   /dev/vdb       vm-data-0002         dod-3: pass 2 of 3 at 50.0%\n",
		"decom: plan: then wipe 2 drives with nist-clear, verification sample:\n",
		"decom: resuming 1 interrupted wipes with their journal's method dod-3, verification sample: /dev/vdb\n",
		"decom: drive /dev/vdb: completed, verified yes (sample 10.0%), certificate /data/certs/20260301T120000Z_vdb_id.sigstore.json; resumed after 1 interruption\n",
		"decom: drive /dev/sdb: resumed above: not wiped again\n",
		"decom: wiping 1 drives in parallel with nist-clear, verification sample: /dev/nvme0n1\n",
		"20260301T120000Z_vdb_id.sigstore.json; resumed after 1 interruption\n",
		"decom: result: 3 sanitized, 0 with exceptions, 0 failed, 4 not wiped\n",
	)
	// The journals are read before anything is planned.
	if strings.Index(con, "decom: unfinished wipe: ") > strings.Index(con, "decom: drive /dev/nvme0n1") {
		t.Errorf("the journals were read after the drives were listed")
	}
	if strings.Count(con, "decom: summary") != 1 {
		t.Errorf("%d summaries", strings.Count(con, "decom: summary"))
	}
}

// A journal that cannot be read keeps every interrupted wipe from being resumed:
// the boot says so, does not resume, and leaves the drive of a good journal alone
// (a fresh wipe of it would be refused); the other drives are wiped.
func TestRunAutoDamagedJournal(t *testing.T) {
	e := newRunEnv(t)
	writeJournal(t, e.root, "/dev/vdb", "vm-data-0002", 512<<20)
	bad := filepath.Join(e.root, "data", "certs", "decom-journal_X_0000000000000000.json")
	if err := os.WriteFile(bad, []byte(`{"journal":{"version":1},"sha256":"00"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.run(t, e.options("decom.mode=auto")); err == nil {
		t.Errorf("Run: no error despite a damaged journal")
	}
	calls := e.cli.wipeCalls()
	if len(calls) != 1 || calls[0].Resume || !reflect.DeepEqual(calls[0].Targets, []string{"/dev/nvme0n1", "/dev/sdb"}) {
		t.Fatalf("runs %+v", calls)
	}
	contains(t, "console", e.console.String(),
		"decom: ERROR: journal /data/certs/decom-journal_X_0000000000000000.json: damaged: its checksum does not match its contents: no interrupted wipe is resumed while it is on the stick",
		"not wiped: its interrupted wipe cannot be resumed while a damaged journal is on the stick (see above)",
		"decom: result: 2 sanitized, 0 with exceptions, 0 failed, 5 not wiped\n")
}

// Interactive mode asks about each unfinished wipe (resume, restart, or leave it),
// never offers its drive among the others, and runs what was chosen.
func TestRunInteractiveUnfinished(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		runs        []wipeCall
		console     []string
	}{
		{"resume", "later\nresume\nNVME0001\nyes\n",
			[]wipeCall{{Targets: []string{"/dev/vdb"}, Resume: true}, {Targets: []string{"/dev/nvme0n1"}, Method: "dod-3"}},
			[]string{"decom: unfinished wipe of /dev/vdb (vm-data-0002, virtio, 512.0 MiB): dod-3, pass 2 of 3 at 50.0%\n",
				"decom: \"later\": not an answer; try again\n",
				"decom: resuming 1 interrupted wipes with their journal's method dod-3, verification sample: /dev/vdb\n",
				"resumed after 1 interruption",
				"decom: result: 2 sanitized, 0 with exceptions, 0 failed, 5 not wiped\n"}},
		{"restart", "restart\n\n",
			[]wipeCall{{Targets: []string{"/dev/vdb"}, Restart: true, Method: "dod-3"}},
			[]string{"decom: wiping 1 drives in parallel with dod-3, verification sample: /dev/vdb\n",
				"decom: result: 1 sanitized, 0 with exceptions, 0 failed, 6 not wiped\n"}},
		{"leave", "\n\n", nil,
			[]string{"its interrupted wipe was left as it is (its journal stays on the stick)",
				"decom: nothing chosen: nothing wiped\n",
				"decom: result: 0 sanitized, 0 with exceptions, 0 failed, 7 not wiped\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRunEnv(t)
			writeJournal(t, e.root, "/dev/vdb", "vm-data-0002", 512<<20)
			o := e.options("decom.mode=interactive")
			o.Input = ReaderInput(strings.NewReader(tc.input))
			e.run(t, o)
			var runs []wipeCall
			for _, c := range e.cli.wipeCalls() {
				c.Req = WipeRequest{}
				runs = append(runs, c)
			}
			if !reflect.DeepEqual(runs, tc.runs) {
				t.Errorf("runs %+v, want %+v", runs, tc.runs)
			}
			con := e.console.String()
			contains(t, "console", con, tc.console...)
			// The drive with the unfinished wipe is not among those offered.
			list := con[strings.LastIndex(con, "decom: drives that may be wiped:"):]
			list = list[:strings.Index(list, "decom: type the serial numbers")]
			if strings.Contains(list, "/dev/vdb") || !strings.Contains(list, "/dev/nvme0n1") {
				t.Errorf("drives offered:\n%s", list)
			}
		})
	}
}

func TestSummaryResumed(t *testing.T) {
	s := Summary{Mode: ModeAuto, CertDir: "/data/certs", OnData: true, DataDev: "/dev/sda2", Drives: []DriveResult{
		{Device: "/dev/vdb", Outcome: "completed", Sanitization: "sanitized", Verified: "yes (full)",
			Certificate: "/data/certs/a.sigstore.json", Interruptions: 1},
		{Device: "/dev/vdc", Outcome: "completed", Sanitization: "sanitized", Verified: "yes (full)",
			Certificate: "/data/certs/b.sigstore.json", Interruptions: 2, Note: "not uploaded"},
		{Device: "/dev/vdd", Outcome: "completed", Sanitization: "sanitized", Verified: "yes (full)", Interruptions: 1},
	}}
	var b strings.Builder
	s.Render(&b)
	contains(t, "summary", b.String(), "a.sigstore.json; resumed after 1 interruption\n",
		"b.sigstore.json; not uploaded; resumed after 2 interruptions\n", "yes (full)  resumed after 1 interruption\n")
}
