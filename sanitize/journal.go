package sanitize

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/jsonint"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

// A journal is what a run leaves of each target's progress so that a power cut, a
// crash or a kill costs only the work since its last checkpoint: which drive, which
// method, the passes done (with their random keys), and the offset of the current
// pass below which every byte was written and flushed. It is replaced atomically
// (written, synced, renamed, the directory synced) each time the wipe reports
// durable progress, and removed once the target's certificate is written. An
// aborted wipe (SIGINT, SIGTERM) keeps its journal: it can be resumed too.
//
// A journal is JSON: {"journal": {...}, "sha256": "..."}, the checksum over the
// exact bytes of the journal member. It catches a truncated or damaged file; it is
// not a signature (whoever can rewrite the journal can rewrite decom on the same
// medium), which is why a resumed wipe's verification reads the whole device back
// and never only the part written after the resume.

// JournalVersion is the version of the journal format this decom writes and reads.
const JournalVersion = 1

// ErrJournal marks a journal that cannot be used: damaged, truncated, of another
// version, or not the drive or method it is asked to continue.
var ErrJournal = errors.New("journal refused")

// journalError is an ErrJournal that says only what is wrong.
type journalError string

func (e journalError) Error() string        { return string(e) }
func (e journalError) Is(target error) bool { return target == ErrJournal }

func journalErrorf(format string, args ...any) error {
	return journalError(fmt.Sprintf(format, args...))
}

// Journal is one target's journal.
type Journal struct {
	Version int      `json:"version"`
	Device  string   `json:"device"` // the path it had when the journal was begun
	Kind    string   `json:"kind"`
	Drive   DriveKey `json:"drive"`

	// Method is the method's name, MethodPasses its passes (once), Rounds and Blank
	// how they were run: Passes is the whole sequence written.
	Method       string         `json:"method"`
	MethodPasses []wipe.Pattern `json:"method_passes"`
	Rounds       int            `json:"rounds"`
	Blank        bool           `json:"final_blank"`
	Passes       []wipe.Pattern `json:"passes"`
	// Technique is the overwrite, or the drive's own command; FirmwareSent is when
	// that command was about to be sent (set before it is).
	Technique    wipe.Technique `json:"technique"`
	Choice       *wipe.Choice   `json:"plan,omitempty"`
	FirmwareSent *time.Time     `json:"firmware_sent,omitempty"`
	// HPA is the removal of the Host Protected Area that came before the overwrite.
	HPA *wipe.FirmwareRecord `json:"hpa,omitempty"`

	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
	// Done are the passes completed and flushed; ReadBack how many of them had their
	// read-back step finished, with its results in Verification.
	Done         []wipe.PassRecord `json:"done"`
	ReadBack     int               `json:"read_back"`
	Verification []verify.Result   `json:"verification"`
	// Current is the pass being written: every byte below its Offset is durable.
	Current       *JournalPass        `json:"current,omitempty"`
	Interruptions []wipe.Interruption `json:"interruptions,omitempty"`
}

// JournalPass is the pass a journal's wipe was writing.
type JournalPass struct {
	Pass    int          `json:"pass"`
	Pattern wipe.Pattern `json:"pattern"`
	Keys    *wipe.Keys   `json:"keys,omitempty"`
	Offset  int64        `json:"offset"`
	Bad     []wipe.Range `json:"bad_ranges,omitempty"`
	Started time.Time    `json:"started"`
}

// DriveKey is what makes a journal's drive the same drive later, whatever its path
// is then: serial, WWN, model and size as the gate saw them, and for a loop device
// its backing object, for an image file its inode.
type DriveKey struct {
	Serial    string             `json:"serial,omitempty"`
	WWN       string             `json:"wwn,omitempty"`
	Model     string             `json:"model,omitempty"`
	SizeBytes uint64             `json:"size_bytes"`
	Backing   *inventory.Backing `json:"backing,omitempty"`
	Inode     jsonint.Uint64     `json:"inode,omitempty"`
}

// keyOf is a target's DriveKey.
func keyOf(t wipe.Target) DriveKey {
	id := t.Identity
	k := DriveKey{Serial: id.Serial, WWN: id.WWN, Model: id.Model, SizeBytes: id.SizeBytes, Inode: id.Inode}
	if id.Backing != nil {
		b := *id.Backing
		k.Backing = &b
	}
	return k
}

// Differences lists how the drive t differs from the journal's, field by field;
// none means it is the same drive.
func (k DriveKey) Differences(t wipe.Target) []string {
	got := keyOf(t)
	var diffs []string
	field := func(name, want, have string) {
		if want != have {
			diffs = append(diffs, fmt.Sprintf("%s %q, the journal's %q", name, have, want))
		}
	}
	field("serial", k.Serial, got.Serial)
	field("WWN", k.WWN, got.WWN)
	field("model", k.Model, got.Model)
	if k.SizeBytes != got.SizeBytes {
		diffs = append(diffs, fmt.Sprintf("size %d bytes, the journal's %d", got.SizeBytes, k.SizeBytes))
	}
	if (k.Backing == nil) != (got.Backing == nil) || (k.Backing != nil && *k.Backing != *got.Backing) {
		diffs = append(diffs, "the loop device's backing object differs")
	}
	if k.Inode != got.Inode {
		diffs = append(diffs, fmt.Sprintf("inode %d, the journal's %d", got.Inode, k.Inode))
	}
	return diffs
}

// fileName names the journal of the drive k: the same drive always gets the same
// file, so that a new wipe finds the journal an interrupted one left.
func (k DriveKey) fileName() string {
	b, _ := json.Marshal(k)
	sum := sha256.Sum256(b)
	label := k.Serial
	if label == "" {
		label = "drive"
	}
	label = unsafeName.ReplaceAllString(label, "_")
	if len(label) > 40 {
		label = label[len(label)-40:]
	}
	return fmt.Sprintf("decom-journal_%s_%s.json", label, hex.EncodeToString(sum[:8]))
}

const journalGlob = "decom-journal_*.json"

// Describe says in a few words where the journal's wipe stands.
func (j *Journal) Describe() string {
	total := len(j.Passes)
	switch {
	case j.FirmwareSent != nil:
		return fmt.Sprintf("%s sent at %s", j.Technique, j.FirmwareSent.UTC().Format(time.RFC3339))
	case j.Current != nil && j.Drive.SizeBytes > 0:
		return fmt.Sprintf("pass %d of %d at %.1f%%", j.Current.Pass, total,
			100*float64(j.Current.Offset)/float64(j.Drive.SizeBytes))
	case len(j.Done) == total && j.ReadBack < total:
		return fmt.Sprintf("all %d passes written, reading back", total)
	}
	return fmt.Sprintf("%d of %d passes done", len(j.Done), total)
}

// resume is where the journal's overwrite continues.
func (j *Journal) resume() *wipe.Resume {
	r := &wipe.Resume{Done: slices.Clone(j.Done), Pass: len(j.Done) + 1, AfterPass: j.ReadBack < len(j.Done)}
	if c := j.Current; c != nil {
		r.Offset, r.Keys, r.Bad = c.Offset, c.Keys, c.Bad
	}
	return r
}

// marshalJournal is the journal's file: the journal and its checksum.
func marshalJournal(j *Journal) ([]byte, error) {
	body, err := json.Marshal(j)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	var b bytes.Buffer
	b.WriteString(`{"journal":`)
	b.Write(body)
	fmt.Fprintf(&b, ",\n\"sha256\":%q}\n", hex.EncodeToString(sum[:]))
	return b.Bytes(), nil
}

// ParseJournal reads a journal file's bytes, refusing a damaged, truncated or
// foreign one.
func ParseJournal(data []byte) (*Journal, error) {
	var f struct {
		Journal json.RawMessage `json:"journal"`
		SHA256  string          `json:"sha256"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, journalErrorf("not a decom journal, or truncated: %v", err)
	}
	if len(f.Journal) == 0 || f.SHA256 == "" {
		return nil, journalErrorf("not a decom journal: no journal or no checksum")
	}
	sum := sha256.Sum256(f.Journal)
	if hex.EncodeToString(sum[:]) != strings.ToLower(f.SHA256) {
		return nil, journalErrorf("damaged: its checksum does not match its contents")
	}
	var j Journal
	dec := json.NewDecoder(bytes.NewReader(f.Journal))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return nil, journalErrorf("malformed: %v", err)
	}
	if j.Version != JournalVersion {
		return nil, journalErrorf("version %d; this decom reads version %d", j.Version, JournalVersion)
	}
	if err := j.check(); err != nil {
		return nil, journalErrorf("inconsistent: %v", err)
	}
	return &j, nil
}

// check refuses a journal whose parts do not fit together.
func (j *Journal) check() error {
	switch {
	case j.Method == "" || j.Technique == "":
		return errors.New("no method or technique")
	case j.Technique == wipe.TechOverwrite && len(j.Passes) == 0:
		return errors.New("an overwrite without passes")
	case j.Technique == wipe.TechOverwrite && !slices.EqualFunc(j.Passes,
		wipe.Method{Passes: j.MethodPasses}.Sequence(j.Rounds, j.Blank), samePass):
		return errors.New("its passes are not its method's, rounds and blank pass")
	case len(j.Done) > len(j.Passes) || j.ReadBack > len(j.Done) || j.ReadBack < 0:
		return fmt.Errorf("%d passes done, %d read back, of %d", len(j.Done), j.ReadBack, len(j.Passes))
	}
	for i, d := range j.Done {
		if d.Number != i+1 || !d.Completed || !samePass(d.Pattern, j.Passes[i]) {
			return fmt.Errorf("pass %d is listed done but is not pass %d of the sequence, completed", d.Number, i+1)
		}
	}
	if c := j.Current; c != nil {
		switch {
		case c.Pass != len(j.Done)+1 || c.Pass > len(j.Passes):
			return fmt.Errorf("current pass %d after %d done", c.Pass, len(j.Done))
		case c.Offset < 0 || uint64(c.Offset) > j.Drive.SizeBytes:
			return fmt.Errorf("offset %d of a %d-byte drive", c.Offset, j.Drive.SizeBytes)
		case !samePass(c.Pattern, j.Passes[c.Pass-1]):
			return fmt.Errorf("current pass %d is not the sequence's", c.Pass)
		case c.Pattern.Kind == wipe.KindRandom && c.Keys == nil:
			return fmt.Errorf("random pass %d without its keys", c.Pass)
		}
	}
	return nil
}

// samePass reports whether two passes are the same pattern, as written.
func samePass(a, b wipe.Pattern) bool { return a.Kind == b.Kind && bytes.Equal(a.Value, b.Value) }

// method is the method the journal's wipe ran, as a run needs it.
func (j *Journal) method() (wipe.Method, error) {
	m, err := wipe.LookupMethod(j.Method)
	if err != nil || !slices.EqualFunc(m.Passes, j.MethodPasses, samePass) {
		m = wipe.CustomMethod(j.MethodPasses, j.Rounds, j.Blank)
	}
	if m.Name != j.Method {
		return wipe.Method{}, journalErrorf("method %q is not one this decom knows with the journal's passes", j.Method)
	}
	return m, nil
}

// JournalFile is a journal found in a directory.
type JournalFile struct {
	Path    string
	Journal *Journal
	// Err says why the file cannot be used (an ErrJournal); Journal is nil then.
	Err error
}

// ReadJournals lists the journals in dir; damaged ones are listed with their error.
// A directory that does not exist holds none.
func ReadJournals(dir string) ([]JournalFile, error) {
	paths, err := filepath.Glob(filepath.Join(dir, journalGlob))
	if err != nil {
		return nil, err
	}
	var out []JournalFile
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, err
		}
		j, err := ParseJournal(data)
		if err != nil {
			err = fmt.Errorf("journal %s: %w", p, err)
		}
		out = append(out, JournalFile{Path: p, Journal: j, Err: err})
	}
	return out, nil
}

// journalWriter keeps one target's journal up to date. It is used from the
// target's own goroutine and the engine's, one call at a time (the engine
// serializes checkpoints; the rest happens between passes).
type journalWriter struct {
	dir  string
	name string
	j    Journal
	// failed is the first error writing it; later writes are not tried.
	failed error
	warn   func(error)
	// log, when not nil, gets a debug line for every journal written: where the
	// wipe stood and how long the write took (the benchmark counts them).
	log *slog.Logger
}

func newJournalWriter(dir string, t wipe.Target, warn func(error)) *journalWriter {
	k := keyOf(t)
	return &journalWriter{dir: dir, name: k.fileName(), warn: warn,
		j: Journal{Version: JournalVersion, Device: t.Path, Kind: t.Kind, Drive: k,
			Done: []wipe.PassRecord{}, Verification: []verify.Result{}}}
}

// path is the journal's file.
func (w *journalWriter) path() string { return filepath.Join(w.dir, w.name) }

// save writes the journal atomically. A journal that cannot be written is warned of
// once and then left alone: the wipe goes on (a stale journal only makes a resume
// redo more), and the record says so.
func (w *journalWriter) save() {
	if w.failed != nil {
		return
	}
	start := time.Now()
	w.j.Updated = start.UTC()
	data, err := marshalJournal(&w.j)
	if err == nil {
		_, err = certificates.WriteFileAtomic(w.dir, w.name, data, 0o600)
	}
	if err == nil {
		err = syncFAT(w.dir)
	}
	if err != nil {
		w.failed = fmt.Errorf("the journal could not be written (%w): an interruption from now on cannot be resumed from here", err)
		w.warn(w.failed)
		return
	}
	if w.log != nil && w.log.Enabled(context.Background(), slog.LevelDebug) {
		pass, offset := len(w.j.Done), int64(-1) // between passes: the last pass done, and -1
		if c := w.j.Current; c != nil {
			pass, offset = c.Pass, c.Offset
		}
		w.log.Debug("journal written", "journal", w.path(), "pass", pass, "offset", offset,
			"bytes", len(data), "seconds", time.Since(start).Seconds())
	}
}

// checkpoint records the engine's durable progress.
//
// The end of a pass is not written on its own: the wipe waits for a synced write
// there, and the next one follows at once (the read-back's results, or the next
// pass's start with its keys, before its first write). A crash in between resumes
// from the pass's last checkpoint and rewrites its tail: never less than was done.
func (w *journalWriter) checkpoint(c wipe.Checkpoint) {
	if c.Completed {
		w.j.Done = append(w.j.Done, *c.Record)
		w.j.Current = nil
		return
	}
	started := c.At
	if cur := w.j.Current; cur != nil && cur.Pass == c.Pass {
		started = cur.Started
	}
	w.j.Current = &JournalPass{Pass: c.Pass, Pattern: c.Pattern, Keys: c.Keys, Offset: c.Offset,
		Bad: c.Bad, Started: started}
	w.save()
}

// readBack records that the read-back step after pass n finished, with its result.
// A step that read nothing (no verification after this pass) is not written on its
// own: a resume from the journal before it runs the step again, which again reads
// nothing, and the next journal written carries it. That spares a synced write at
// most pass ends, where the wipe waits for it.
func (w *journalWriter) readBack(n int, results []verify.Result) {
	read := len(results) != len(w.j.Verification)
	w.j.ReadBack = n
	w.j.Verification = slices.Clone(results)
	if read {
		w.save()
	}
}

// syncFAT flushes the whole filesystem of dir when it is FAT (a USB stick): there,
// a synced file renamed in a synced directory was seen to keep its directory entry
// while its clusters stayed unallocated on the medium until the next full sync; a
// power cut then left an empty journal. Other filesystems need nothing more.
func syncFAT(dir string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil || st.Type != unix.MSDOS_SUPER_MAGIC {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Syncfs(int(d.Fd()))
}

// remove deletes the journal: the target's run has ended and its certificate (or
// record) is written.
func (w *journalWriter) remove() error {
	err := os.Remove(w.path())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
