package sanitize

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

// interrupted runs dod-3 over img with a journal in dir and cancels it, as SIGINT
// would, once the journal shows pass stop under way: the run is aborted and its
// journal kept.
func interrupted(t *testing.T, img, dir string, stop int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seen atomic.Bool
	results, err := Run(ctx, Options{Targets: []string{img}, Method: method(t, "dod-3"),
		Write:      wipe.Options{BlockSize: 64 << 10, QueueDepth: 2, ProgressInterval: time.Millisecond, CheckpointInterval: time.Millisecond},
		Verify:     verify.Options{Mode: verify.ModeFull},
		JournalDir: dir,
		Events: func(ev Event) {
			if p, ok := ev.(*Progress); !ok || p.Pass != stop || seen.Load() {
				return
			}
			files, _ := ReadJournals(dir)
			if len(files) == 1 && files[0].Journal != nil {
				if c := files[0].Journal.Current; c != nil && c.Pass == stop && c.Offset > 0 {
					seen.Store(true)
					cancel()
				}
			}
		}})
	if !errors.Is(err, context.Canceled) || len(results) != 1 || results[0].Outcome != wipe.OutcomeAborted {
		t.Fatalf("interrupted run: %v, %+v", err, results)
	}
	files, err := ReadJournals(dir)
	if err != nil || len(files) != 1 || files[0].Err != nil {
		t.Fatalf("journals after the interruption: %v %+v", err, files)
	}
}

// A wipe stopped in its second pass is resumed from its journal, without the method
// named: the result lists the interruption, the passes are the method's, the last
// one was read back in full and the file holds it; the journal is gone.
func TestRunResumesFromTheJournal(t *testing.T) {
	img := image(t, "a.img", 64<<20)
	dir := t.TempDir()
	interrupted(t, img, dir, 2)
	var rec recorder
	results, err := Run(context.Background(), Options{Resume: true, JournalDir: dir,
		Verify: verify.Options{Mode: verify.ModeFull}, Events: rec.event})
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, strings.Join(rec.lines, "\n"))
	}
	r := results[0]
	if r.Device != img || r.Method != "dod-3" || r.Outcome != wipe.OutcomeCompleted || !r.Verified {
		t.Fatalf("resumed: %s %s %s verified %v: %s", r.Device, r.Method, r.Outcome, r.Verified, r.Error)
	}
	if len(r.Interruptions) != 1 || r.Interruptions[0].Pass != 2 || r.Interruptions[0].Offset <= 0 {
		t.Fatalf("interruptions %+v", r.Interruptions)
	}
	if len(r.Passes) != 3 || r.Passes[1].ResumedFrom == nil || r.Passes[0].ResumedFrom != nil {
		t.Fatalf("passes %+v", r.Passes)
	}
	for _, p := range r.Passes {
		if !p.Completed || p.BytesWritten != 64<<20 {
			t.Errorf("pass %d: completed %v, %d bytes", p.Number, p.Completed, p.BytesWritten)
		}
	}
	if len(r.Verification) != 1 || r.Verification[0].Pass != 3 || r.Verification[0].BytesRead != 64<<20 {
		t.Errorf("verification %+v", r.Verification)
	}
	if got, _ := filepath.Glob(filepath.Join(dir, "*")); len(got) != 0 {
		t.Errorf("left in the journal directory: %v", got)
	}
	data, _ := os.ReadFile(img)
	s, err := wipe.NewStream(r.Passes[2].Pattern, *r.Passes[2].Keys)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, len(data))
	s.FillAt(want, 0)
	if !bytes.Equal(data, want) {
		t.Error("the image does not hold the last pass")
	}
}

// While a journal holds an interrupted wipe, a new wipe of that target is refused
// (nothing written) unless it restarts; a resume with another method, of another
// file in its place, or of a damaged journal is refused.
func TestRunJournalRefusals(t *testing.T) {
	img := image(t, "a.img", 64<<20)
	dir := t.TempDir()
	interrupted(t, img, dir, 1)
	before, _ := os.ReadFile(img)
	run := func(o Options) error {
		o.JournalDir = dir
		if o.Method.Name == "" && !o.Resume {
			o.Method = method(t, "dod-3")
		}
		if len(o.Targets) == 0 && !o.Resume {
			o.Targets = []string{img}
		}
		_, err := Run(context.Background(), o)
		return err
	}
	unchanged := func(what string) {
		t.Helper()
		if after, _ := os.ReadFile(img); !bytes.Equal(before, after) {
			t.Fatalf("%s wrote to the image", what)
		}
	}
	if err := run(Options{}); !errors.Is(err, wipe.ErrRefused) || !strings.Contains(err.Error(), "--resume continues it") {
		t.Errorf("a new wipe over an interrupted one: %v", err)
	}
	unchanged("a new wipe")
	if err := run(Options{Resume: true, Method: method(t, "zero")}); !errors.Is(err, ErrJournal) || !strings.Contains(err.Error(), "dod-3") {
		t.Errorf("resume with another method: %v", err)
	}
	unchanged("a resume with another method")
	if err := run(Options{Resume: true, Restart: true}); !errors.Is(err, ErrInvalid) {
		t.Errorf("resume and restart: %v", err)
	}

	// The journal damaged: refused, naming the file.
	files, _ := ReadJournals(dir)
	good, _ := os.ReadFile(files[0].Path)
	bad := bytes.Replace(good, []byte(`"offset":`), []byte(`"offset":9`), 1)
	os.WriteFile(files[0].Path, bad, 0o600)
	if err := run(Options{Resume: true}); !errors.Is(err, ErrJournal) || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("resume of a damaged journal: %v", err)
	}
	os.WriteFile(files[0].Path, good[:len(good)/2], 0o600)
	if err := run(Options{Resume: true}); !errors.Is(err, ErrJournal) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("resume of a truncated journal: %v", err)
	}
	unchanged("a resume of a damaged journal")
	os.WriteFile(files[0].Path, good, 0o600)

	// Another file in the image's place: not the journal's drive.
	os.Rename(img, img+".old")
	os.WriteFile(img, before, 0o600)
	if err := run(Options{Resume: true, Targets: []string{img}}); !errors.Is(err, ErrJournal) || !strings.Contains(err.Error(), "inode") {
		t.Errorf("resume of another file: %v", err)
	}
	unchanged("a resume of another file")

	// Restart: the new wipe replaces the journal and, done, removes it.
	if err := run(Options{Restart: true}); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if got, _ := filepath.Glob(filepath.Join(dir, journalGlob)); len(got) != 1 {
		t.Errorf("journals after the restart: %v (the old file's stays)", got)
	}
}

func TestParseJournalRefusesInconsistency(t *testing.T) {
	keys, _ := wipe.NewKeys()
	good := Journal{Version: JournalVersion, Device: "/dev/x", Kind: wipe.KindDrive, Drive: DriveKey{SizeBytes: 1 << 20},
		Method: "dod-3", MethodPasses: method(t, "dod-3").Passes, Rounds: 1, Technique: wipe.TechOverwrite,
		Passes: method(t, "dod-3").Passes, Done: []wipe.PassRecord{{Number: 1, Pattern: wipe.Fixed(0), Completed: true}},
		ReadBack: 1, Verification: []verify.Result{},
		Current: &JournalPass{Pass: 2, Pattern: wipe.Fixed(0xff), Offset: 4096}}
	b, err := marshalJournal(&good)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseJournal(b); err != nil {
		t.Fatalf("a good journal: %v", err)
	}
	for name, change := range map[string]func(j *Journal){
		"version":             func(j *Journal) { j.Version = 2 },
		"offset past the end": func(j *Journal) { j.Current.Offset = 2 << 20 },
		"current out of turn": func(j *Journal) { j.Current.Pass = 3 },
		"random without keys": func(j *Journal) {
			j.Done = append(j.Done, wipe.PassRecord{Number: 2, Pattern: wipe.Fixed(0xff), Completed: true})
			j.Current = &JournalPass{Pass: 3, Pattern: wipe.Random()}
		},
		"done not the method":   func(j *Journal) { j.Done[0].Pattern = wipe.Fixed(0x55) },
		"passes not the method": func(j *Journal) { j.Passes = j.Passes[:2] },
		"read back too many":    func(j *Journal) { j.ReadBack = 2 },
		"no method":             func(j *Journal) { j.Method = "" },
	} {
		j := good
		j.Done = append([]wipe.PassRecord(nil), good.Done...)
		cur := *good.Current
		j.Current = &cur
		change(&j)
		b, _ := marshalJournal(&j)
		if _, err := ParseJournal(b); !errors.Is(err, ErrJournal) {
			t.Errorf("%s: %v", name, err)
		}
	}
	_ = keys
}

func FuzzParseJournal(f *testing.F) {
	j := Journal{Version: JournalVersion, Method: "zero", MethodPasses: []wipe.Pattern{wipe.Fixed(0)}, Rounds: 1,
		Passes: []wipe.Pattern{wipe.Fixed(0)}, Technique: wipe.TechOverwrite, Drive: DriveKey{SizeBytes: 1 << 20},
		Current: &JournalPass{Pass: 1, Pattern: wipe.Fixed(0), Offset: 512}}
	b, _ := marshalJournal(&j)
	f.Add(b)
	f.Add([]byte(`{"journal":{},"sha256":"00"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := ParseJournal(data)
		if err != nil {
			if !errors.Is(err, ErrJournal) {
				t.Fatalf("error not an ErrJournal: %v", err)
			}
			return
		}
		_ = j.resume()
		_ = j.Describe()
		if _, err := marshalJournal(j); err != nil {
			t.Fatal(err)
		}
	})
}

// A journal stays while its wipe can be continued and goes when the wipe ended.
func TestCloseJournalKeepsWhatCanBeContinued(t *testing.T) {
	passes := method(t, "dod-3").Passes
	done := func(n int, lastCompleted bool) []wipe.PassRecord {
		var out []wipe.PassRecord
		for i := range n {
			out = append(out, wipe.PassRecord{Number: i + 1, Completed: i < n-1 || lastCompleted})
		}
		return out
	}
	for _, c := range []struct {
		name      string
		technique wipe.Technique
		outcome   string
		passes    []wipe.PassRecord
		certErr   error
		kept      bool
	}{
		{"completed", wipe.TechOverwrite, wipe.OutcomeCompleted, done(3, true), nil, false},
		{"exceptions", wipe.TechOverwrite, wipe.OutcomeExceptions, done(3, true), nil, false},
		{"aborted", wipe.TechOverwrite, wipe.OutcomeAborted, done(2, false), nil, true},
		{"failed mid-pass (the drive vanished)", wipe.TechOverwrite, wipe.OutcomeFailed, done(2, false), nil, true},
		{"failed after the last pass (read-back given up)", wipe.TechOverwrite, wipe.OutcomeFailed, done(3, true), nil, false},
		{"completed, certificate not written", wipe.TechOverwrite, wipe.OutcomeCompleted, done(3, true), errors.New("disk full"), true},
		{"firmware failed", wipe.TechNVMeFormatUserData, wipe.OutcomeFailed, nil, nil, false},
		{"firmware aborted", wipe.TechNVMeFormatUserData, wipe.OutcomeAborted, nil, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			jw := newJournalWriter(dir, wipe.Target{Path: "/dev/x", Kind: wipe.KindDrive}, func(err error) { t.Error(err) })
			jw.j.Method, jw.j.Technique, jw.j.Passes = "dod-3", c.technique, passes
			jw.save()
			r := &run{log: slog.New(slog.DiscardHandler)}
			r.closeJournal(jw, Result{Record: wipe.Record{Device: "/dev/x", Outcome: c.outcome, Passes: c.passes}}, c.certErr)
			_, err := os.Stat(jw.path())
			if kept := err == nil; kept != c.kept {
				t.Errorf("kept %v, want %v", kept, c.kept)
			}
		})
	}
}

// Every journal written is logged at debug level with where the pass stood (the
// benchmark counts these lines): the start and the end of each pass, and with a short
// interval checkpoints in between; a run without a journal directory logs none.
func TestRunLogsEachJournalWrite(t *testing.T) {
	const size = 16 << 20
	run := func(dir string) []map[string]any {
		var buf bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		_, err := Run(context.Background(), Options{Targets: []string{image(t, "a.img", size)}, Method: method(t, "dod-3"),
			Write:      wipe.Options{BlockSize: 64 << 10, QueueDepth: 2, CheckpointInterval: time.Millisecond},
			Verify:     verify.Options{Mode: VerifyNone},
			JournalDir: dir, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		var lines []map[string]any
		dec := json.NewDecoder(&buf)
		for dec.More() {
			var l map[string]any
			if err := dec.Decode(&l); err != nil {
				t.Fatal(err)
			}
			if l["msg"] == "journal written" {
				lines = append(lines, l)
			}
		}
		return lines
	}
	if lines := run(""); len(lines) != 0 {
		t.Errorf("without a journal: %v", lines)
	}
	dir := t.TempDir()
	lines := run(dir)
	starts, ends, mid := map[float64]bool{}, map[float64]int{}, 0
	for _, l := range lines {
		pass, offset := l["pass"].(float64), l["offset"].(float64)
		if filepath.Dir(l["journal"].(string)) != dir || l["bytes"].(float64) <= 0 || l["seconds"].(float64) < 0 {
			t.Errorf("line %v", l)
		}
		switch {
		case offset == 0:
			starts[pass] = true
		case offset == -1:
			ends[pass]++
		case offset > 0 && offset <= size: // a checkpoint may find the pass written, not yet ended
			mid++
		default:
			t.Errorf("offset %v of a %d-byte image", offset, size)
		}
	}
	for p := 1.0; p <= 3; p++ {
		if !starts[p] || ends[p] != 0 {
			t.Errorf("pass %v: start logged %v, end logged %d times (want none: the next write follows at once)", p, starts[p], ends[p])
		}
	}
	if mid == 0 {
		t.Errorf("no checkpoint within a pass logged: %v", lines)
	}
}

// A journal left between two passes, before the first one's read-back step was
// journaled (no read-back there writes none), resumes: the step runs again, reading
// nothing, and the wipe goes on with the next pass, the first one not rewritten.
func TestRunResumesBeforeTheReadBackStep(t *testing.T) {
	// 64 MiB, as TestRunResumesFromTheJournal: the interruption needs a checkpoint
	// within pass 2 and a progress event after it, and a 16 MiB pass (20 ms) ended
	// before both came once under CI's load.
	img := image(t, "a.img", 64<<20)
	dir := t.TempDir()
	interrupted(t, img, dir, 2)
	files, _ := ReadJournals(dir)
	j := files[0].Journal
	j.Current, j.ReadBack, j.Verification = nil, 0, []verify.Result{}
	data, err := marshalJournal(j)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(files[0].Path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	results, err := Run(context.Background(), Options{Resume: true, JournalDir: dir,
		Write: wipe.Options{BlockSize: 64 << 10}, Verify: verify.Options{Mode: verify.ModeFull}})
	if err != nil {
		t.Fatal(err)
	}
	r := results[0]
	if r.Outcome != wipe.OutcomeCompleted || !r.Verified || len(r.Passes) != 3 {
		t.Fatalf("resumed: %s verified %v, %d passes: %s", r.Outcome, r.Verified, len(r.Passes), r.Error)
	}
	if !r.Passes[0].Started.Equal(j.Done[0].Started) || (r.Passes[1].ResumedFrom != nil && *r.Passes[1].ResumedFrom != 0) {
		t.Errorf("pass 1 started %v (the journal's %v), pass 2 resumed from %v", r.Passes[0].Started, j.Done[0].Started, r.Passes[1].ResumedFrom)
	}
	if len(r.Verification) != 1 || r.Verification[0].Pass != 3 {
		t.Errorf("verification %+v", r.Verification)
	}
}
