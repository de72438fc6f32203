package station

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/faultfs"
	"github.com/decom-project/decom/internal/loopdev"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

// fakeSource hands the station the uevents a test sends.
type fakeSource chan Uevent

func (f fakeSource) Next(ctx context.Context) (Uevent, error) {
	select {
	case u := <-f:
		return u, nil
	case <-ctx.Done():
		return Uevent{}, ctx.Err()
	}
}

func diskEvent(action, name string) Uevent {
	return Uevent{Action: action, DevPath: "/devices/virtual/block/" + name, Subsystem: "block",
		DevName: name, DevType: "disk"}
}

func partEvent(action, disk string, n int) Uevent {
	name := fmt.Sprintf("%sp%d", disk, n)
	return Uevent{Action: action, DevPath: "/devices/virtual/block/" + disk + "/" + name, Subsystem: "block",
		DevName: name, DevType: "partition"}
}

// events records the station's events, safe to read while it runs.
type events struct {
	mu   sync.Mutex
	list []Event
	text bytes.Buffer
	tw   func(Event)
	on   func(Event)
}

func (e *events) add(ev Event) {
	e.mu.Lock()
	if e.tw == nil {
		e.tw = Text(&e.text)
	}
	e.list = append(e.list, ev)
	e.tw(ev)
	on := e.on
	e.mu.Unlock()
	if on != nil {
		on(ev)
	}
}

func (e *events) lines() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.text.String()
}

// started is the station's Started event (nil before it).
func (e *events) started() *Started {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.list {
		if s, ok := ev.(*Started); ok {
			return s
		}
	}
	return nil
}

func (e *events) finished(dev string) *Finished {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.list {
		if f, ok := ev.(*Finished); ok && f.Device == dev {
			return f
		}
	}
	return nil
}

// fill writes b over the whole image.
func fill(t *testing.T, path string, b byte) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, bytes.Repeat([]byte{b}, int(fi.Size())), 0o600); err != nil {
		t.Fatal(err)
	}
}

// every reports whether every byte of the file is b.
func every(t *testing.T, path string, b byte) bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return len(data) > 0 && bytes.Count(data, []byte{b}) == len(data)
}

func certifier(t *testing.T) *sanitize.Certifier {
	t.Helper()
	priv, _, err := certificates.GenerateUnencryptedKey("ecdsa-p256")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "k.key")
	if err := os.WriteFile(key, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := certificates.LoadSigner(context.Background(), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	certs := filepath.Join(dir, "certs")
	if err := os.Mkdir(certs, 0o700); err != nil {
		t.Fatal(err)
	}
	return &sanitize.Certifier{Signer: signer, Dir: certs, Details: certificates.Details{PerformedBy: certificates.Person{Name: "T"}}}
}

func baseRun(t *testing.T) sanitize.Options {
	t.Helper()
	m, err := wipe.LookupMethod("zero")
	if err != nil {
		t.Fatal(err)
	}
	return sanitize.Options{Method: m, Verify: verify.Options{Mode: verify.ModeFull}, Certify: certifier(t)}
}

// serve runs st in the background; the returned function waits for its end.
func serve(t *testing.T, st *Station, src Source) (cancel context.CancelFunc, wait func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() { done <- st.Serve(ctx, src) }()
	return cancel, func() error {
		select {
		case err := <-done:
			return err
		case <-time.After(2 * time.Minute):
			t.Fatal("the station did not end within 2 minutes")
			return nil
		}
	}
}

// A drive that arrives is wiped and certified; a partition's event, a drive present
// at start and the boot medium are left alone, byte for byte.
func TestStationWipesArrivingDrive(t *testing.T) {
	loopdev.Require(t)
	present := loopdev.New(t, 4<<20, false, nil)
	fill(t, present.Backing, 0xa5)
	var ev events
	src := make(fakeSource)
	st := &Station{Run: baseRun(t), Auto: true, Max: 1, Events: ev.add}
	var boot *loopdev.Loop
	st.BootMedium = func(d inventory.Device) string {
		if d.Path == boot.Path {
			return "boot medium: holds the DECOM-DATA partition"
		}
		return ""
	}
	_, wait := serve(t, st, src)
	// The station reads what is present at start before it takes events; the
	// first event it takes proves it has.
	src <- diskEvent(ActionAdd, present.Name())
	boot = loopdev.New(t, 4<<20, false, nil)
	fill(t, boot.Backing, 0x5a)
	newDrive := loopdev.New(t, 8<<20, false, nil)
	fill(t, newDrive.Backing, 0xff)
	src <- partEvent(ActionAdd, newDrive.Name(), 1)
	src <- diskEvent(ActionAdd, boot.Name())
	src <- diskEvent(ActionAdd, newDrive.Name())
	if err := wait(); err != nil {
		t.Fatalf("station: %v\n%s", err, ev.lines())
	}
	out := ev.lines()
	t.Log("\n" + out)
	f := ev.finished(newDrive.Path)
	if f == nil {
		t.Fatalf("no result for %s", newDrive.Path)
	}
	if f.Result.Outcome != wipe.OutcomeCompleted || !f.Result.Verified || f.Result.CertificateStatus != certificates.StatusCertificate {
		t.Errorf("result: %s, verified %v, %s", f.Result.Outcome, f.Result.Verified, f.Result.CertificateStatus)
	}
	if _, err := os.Stat(f.Result.Certificate); err != nil {
		t.Errorf("certificate: %v", err)
	}
	if !every(t, newDrive.Backing, 0) {
		t.Error("the new drive is not all zeros")
	}
	if !every(t, present.Backing, 0xa5) {
		t.Error("the drive present at start was written to")
	}
	if !every(t, boot.Backing, 0x5a) {
		t.Error("the boot medium was written to")
	}
	// What is present at start is named by its identity, not only its name.
	started := ev.started()
	if started == nil {
		t.Fatal("no Started event")
	}
	if d, ok := started.Drives[present.Name()]; !ok || d.Path != present.Path || d.SizeBytes != 4<<20 {
		t.Errorf("Started.Drives[%s] = %+v, %v; want the drive present at start, 4 MiB", present.Name(), d, ok)
	}
	for _, want := range []string{
		present.Path + ": present at start, left alone: ",
		present.Path + ": ignored: present when the station started",
		boot.Path + ": ignored: boot medium",
		newDrive.Path + ": arrived:",
		newDrive.Path + ": wiping ",
		newDrive.Path + ": completed, sanitized; certificate " + f.Result.Certificate,
		newDrive.Path + ": can be pulled",
		"station: done after 1 drives",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q", want)
		}
	}
	if strings.Contains(out, newDrive.Name()+"p1") {
		t.Error("the partition's event was acted on")
	}
}

// A drive pulled out mid-wipe ends as aborted, its record says why, and the drive
// beside it is wiped and certified as if nothing happened: whether the kernel's news
// of the removal comes before the drive's requests fail, or after.
func TestStationDriveRemovedMidWipe(t *testing.T) {
	t.Run("news first", func(t *testing.T) { testRemovedMidWipe(t, false) })
	t.Run("errors first", func(t *testing.T) { testRemovedMidWipe(t, true) })
}

func testRemovedMidWipe(t *testing.T, errorsFirst bool) {
	loopdev.Require(t)
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("needs /dev/fuse")
	}
	var ev events
	src := make(fakeSource)
	st := &Station{Run: baseRun(t), Auto: true, Max: 2, Events: ev.add, RemoveGrace: 30 * time.Second}
	_, wait := serve(t, st, src)

	pulled := faultfs.Mount(t, 16<<20)
	pulled.Hang(faultfs.Range{Off: 8 << 20, Len: 8 << 20, Ops: faultfs.Write})
	pl := pulled.Attach(t)
	kept := loopdev.New(t, 16<<20, false, nil)
	fill(t, kept.Backing, 0xee)

	src <- diskEvent(ActionAdd, pl.Name())
	src <- diskEvent(ActionAdd, kept.Name())
	deadline := time.Now().Add(time.Minute)
	for pulled.Waiting() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the wipe of %s never reached the hanging range\n%s", pl.Path, ev.lines())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The drive is pulled: the kernel says so, and its requests fail.
	pull := func() {
		pulled.SetFaults(faultfs.Range{Off: 0, Len: 16 << 20, Ops: faultfs.Write | faultfs.Read})
		pulled.Release()
	}
	if errorsFirst {
		pull()
		time.Sleep(500 * time.Millisecond)
		src <- diskEvent(ActionRemove, pl.Name())
	} else {
		src <- diskEvent(ActionRemove, pl.Name())
		pull()
	}
	if err := wait(); err != nil {
		t.Fatalf("station: %v\n%s", err, ev.lines())
	}
	out := ev.lines()
	t.Log("\n" + out)
	p := ev.finished(pl.Path)
	if p == nil || !p.Removed {
		t.Fatalf("pulled drive: %+v", p)
	}
	if p.Result.Outcome != wipe.OutcomeAborted || !strings.Contains(p.Result.Error, "the drive was removed") ||
		p.Result.AbortedAt == nil || p.Result.CertificateStatus != certificates.StatusAbortedRecord {
		t.Errorf("pulled drive: outcome %s, error %q, aborted at %v, %s", p.Result.Outcome, p.Result.Error,
			p.Result.AbortedAt, p.Result.CertificateStatus)
	}
	k := ev.finished(kept.Path)
	if k == nil || k.Result.Outcome != wipe.OutcomeCompleted || !k.Result.Verified {
		t.Fatalf("kept drive: %+v", k)
	}
	if !every(t, kept.Backing, 0) {
		t.Error("the kept drive is not all zeros")
	}
	if !strings.Contains(out, pl.Path+": removed") || strings.Contains(out, pl.Path+": can be pulled") {
		t.Errorf("console about the pulled drive is wrong")
	}
}

// SIGTERM (a cancelled context) ends the station: the run in progress ends as
// aborted with its record written, and Serve returns the context's error.
func TestStationStopsOnCancel(t *testing.T) {
	loopdev.Require(t)
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("needs /dev/fuse")
	}
	var ev events
	src := make(fakeSource)
	st := &Station{Run: baseRun(t), Auto: true, Events: ev.add}
	cancel, wait := serve(t, st, src)
	slow := faultfs.Mount(t, 16<<20)
	slow.Hang(faultfs.Range{Off: 4 << 20, Len: 12 << 20, Ops: faultfs.Write})
	l := slow.Attach(t)
	src <- diskEvent(ActionAdd, l.Name())
	deadline := time.Now().Add(time.Minute)
	for slow.Waiting() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("never reached the hanging range\n%s", ev.lines())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	slow.Release()
	if err := wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("station: %v, want cancelled\n%s", err, ev.lines())
	}
	f := ev.finished(l.Path)
	if f == nil || f.Result.Outcome != wipe.OutcomeAborted || f.Result.Certificate == "" || f.Removed {
		t.Fatalf("result: %+v", f)
	}
	if strings.Contains(f.Result.Error, "removed") {
		t.Errorf("a stopped station's record says %q", f.Result.Error)
	}
}

// Without auto, each drive waits for its confirmation; a declined drive is not
// written.
func TestStationConfirmDeclined(t *testing.T) {
	loopdev.Require(t)
	var ev events
	src := make(fakeSource)
	var asked []string
	st := &Station{Run: baseRun(t), Max: 1, Events: ev.add,
		Confirm: func(_ context.Context, p sanitize.Plan) (bool, error) {
			asked = append(asked, p.Target.Path)
			return false, nil
		}}
	_, wait := serve(t, st, src)
	l := loopdev.New(t, 4<<20, false, nil)
	fill(t, l.Backing, 0x11)
	src <- diskEvent(ActionAdd, l.Name())
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(asked, []string{l.Path}) {
		t.Errorf("asked about %v", asked)
	}
	if !every(t, l.Backing, 0x11) {
		t.Error("a declined drive was written to")
	}
	if out := ev.lines(); !strings.Contains(out, l.Path+": failed:") || !strings.Contains(out, l.Path+": can be pulled") {
		t.Errorf("console:\n%s", out)
	}
}

// lossySource is a uevent source that loses events, as a netlink socket whose
// buffer overran does: the test sends what the kernel would (dropped ones never
// arrive), and says when the source reports the loss (ErrEventsLost).
type lossySource struct {
	events chan Uevent
	lost   chan struct{}
}

func (l *lossySource) Next(ctx context.Context) (Uevent, error) {
	select {
	case u := <-l.events:
		return u, nil
	case <-l.lost:
		return Uevent{}, fmt.Errorf("recvfrom: %w", ErrEventsLost)
	case <-ctx.Done():
		return Uevent{}, ctx.Err()
	}
}

// fakeBlock is a fake sys/block that lists only the test's own loop devices, each a
// link to its real directory (its size and attributes are the kernel's).
type fakeBlock string

func newFakeBlock(t *testing.T) fakeBlock {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "sys", "block"), 0o755); err != nil {
		t.Fatal(err)
	}
	return fakeBlock(root)
}

func (f fakeBlock) plug(t *testing.T, l *loopdev.Loop) {
	t.Helper()
	if err := os.Symlink(filepath.Join("/sys/block", l.Name()), filepath.Join(string(f), "sys", "block", l.Name())); err != nil {
		t.Fatal(err)
	}
}

func (f fakeBlock) pull(t *testing.T, l *loopdev.Loop) {
	t.Helper()
	if err := os.Remove(filepath.Join(string(f), "sys", "block", l.Name())); err != nil {
		t.Fatal(err)
	}
}

// Uevents get lost (the socket's buffer overruns): the station's look at /sys/block
// still takes a drive whose add never came, once and never twice (its add arriving
// late changes nothing), and ends the run of a drive pulled out whose remove never
// came as aborted, the drive beside it unharmed. The look comes every Rescan, or at
// once when the source says events were lost.
func TestStationRescanFindsLostEvents(t *testing.T) {
	t.Run("periodic", func(t *testing.T) { testRescan(t, false) })
	t.Run("after ENOBUFS", func(t *testing.T) { testRescan(t, true) })
}

func testRescan(t *testing.T, onLoss bool) {
	loopdev.Require(t)
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("needs /dev/fuse")
	}
	sys := newFakeBlock(t)
	var ev events
	started := make(chan struct{})
	ev.on = func(e Event) {
		if _, ok := e.(*Started); ok {
			close(started)
		}
	}
	src := &lossySource{events: make(chan Uevent), lost: make(chan struct{})}
	st := &Station{Run: baseRun(t), Auto: true, Max: 2, Events: ev.add, RemoveGrace: 30 * time.Second,
		SysRoot: string(sys)}
	if !onLoss {
		st.Rescan = 200 * time.Millisecond
	}
	// loss stands for the netlink socket's ENOBUFS after events were dropped.
	loss := func() {
		if onLoss {
			src.lost <- struct{}{}
		}
	}
	_, wait := serve(t, st, src)
	<-started

	// A drive plugged in whose add is lost.
	added := loopdev.New(t, 8<<20, false, nil)
	fill(t, added.Backing, 0xff)
	sys.plug(t, added)
	loss()
	arrived := func(dev string) int {
		ev.mu.Lock()
		defer ev.mu.Unlock()
		n := 0
		for _, e := range ev.list {
			if a, ok := e.(*Arrived); ok && a.Device == dev {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(time.Minute)
	for arrived(added.Path) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the drive whose add was lost was never taken\n%s", ev.lines())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Its add comes late after all: it is being handled already.
	src.events <- diskEvent(ActionAdd, added.Name())

	// A drive plugged in (its add comes) and pulled out mid-wipe, whose remove is
	// lost.
	pulled := faultfs.Mount(t, 16<<20)
	pulled.Hang(faultfs.Range{Off: 8 << 20, Len: 8 << 20, Ops: faultfs.Write})
	pl := pulled.Attach(t)
	sys.plug(t, pl)
	src.events <- diskEvent(ActionAdd, pl.Name())
	for pulled.Waiting() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the wipe of %s never reached the hanging range\n%s", pl.Path, ev.lines())
		}
		time.Sleep(20 * time.Millisecond)
	}
	sys.pull(t, pl)
	pulled.SetFaults(faultfs.Range{Off: 0, Len: 16 << 20, Ops: faultfs.Write | faultfs.Read})
	pulled.Release()
	loss()

	if err := wait(); err != nil {
		t.Fatalf("station: %v\n%s", err, ev.lines())
	}
	out := ev.lines()
	t.Log("\n" + out)
	if n := arrived(added.Path); n != 1 {
		t.Errorf("the drive whose add was lost was taken %d times, want once", n)
	}
	a := ev.finished(added.Path)
	if a == nil || a.Result.Outcome != wipe.OutcomeCompleted || !a.Result.Verified {
		t.Fatalf("the drive whose add was lost: %+v", a)
	}
	if !every(t, added.Backing, 0) {
		t.Error("the drive whose add was lost is not all zeros")
	}
	p := ev.finished(pl.Path)
	if p == nil || !p.Removed || p.Result.Outcome != wipe.OutcomeAborted || !strings.Contains(p.Result.Error, "the drive was removed") {
		t.Fatalf("the drive whose remove was lost: %+v", p)
	}
	for _, want := range []string{
		added.Path + ": found in /sys/block without its uevent (lost): taken as plugged in",
		pl.Path + ": gone from /sys/block without its uevent (lost): taken as removed",
		pl.Path + ": removed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q", want)
		}
	}
}

// A drive pulled out while its run goes on (here: while it waits for its
// confirmation) is a new drive when it is plugged in again: it is asked about anew.
func TestStationPulledDriveTakenAgain(t *testing.T) {
	loopdev.Require(t)
	var ev events
	src := make(fakeSource)
	asked := make(chan string, 4)
	var mu sync.Mutex
	times := 0
	st := &Station{Run: baseRun(t), Max: 2, Events: ev.add, RemoveGrace: time.Second,
		Confirm: func(ctx context.Context, p sanitize.Plan) (bool, error) {
			mu.Lock()
			times++
			first := times == 1
			mu.Unlock()
			asked <- p.Target.Path
			if first {
				<-ctx.Done() // waits until the drive is pulled out
				return false, ctx.Err()
			}
			return false, nil
		}}
	_, wait := serve(t, st, src)
	l := loopdev.New(t, 4<<20, false, nil)
	fill(t, l.Backing, 0x11)
	src <- diskEvent(ActionAdd, l.Name())
	if got := <-asked; got != l.Path {
		t.Fatalf("asked about %s", got)
	}
	src <- diskEvent(ActionRemove, l.Name())
	deadline := time.Now().Add(time.Minute)
	for ev.finished(l.Path) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the pulled drive's run never ended\n%s", ev.lines())
		}
		time.Sleep(20 * time.Millisecond)
	}
	src <- diskEvent(ActionAdd, l.Name())
	select {
	case got := <-asked:
		if got != l.Path {
			t.Fatalf("asked about %s", got)
		}
	case <-time.After(time.Minute):
		t.Fatalf("the drive plugged in again was not asked about\n%s", ev.lines())
	}
	if err := wait(); err != nil {
		t.Fatalf("station: %v\n%s", err, ev.lines())
	}
	if f := ev.finished(l.Path); f == nil || !f.Removed {
		t.Errorf("the first run: %+v", f)
	}
	if !every(t, l.Backing, 0x11) {
		t.Error("a drive never confirmed was written to")
	}
}

// A node that stays while its medium goes (a card reader's card, a dock's drive, a
// detached loop device: the kernel sends a change and the size reads 0) counts as
// pulled out: what is put in next is a new drive, though a drive was present in that
// node when the station started.
func TestStationMediumChangeIsANewDrive(t *testing.T) {
	root := t.TempDir()
	node := filepath.Join(root, "sys", "block", "decomtest0")
	if err := os.MkdirAll(node, 0o755); err != nil {
		t.Fatal(err)
	}
	size := func(sectors string) {
		if err := os.WriteFile(filepath.Join(node, "size"), []byte(sectors+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	size("8192")
	var ev events
	started := make(chan struct{})
	ev.on = func(e Event) {
		if _, ok := e.(*Started); ok {
			close(started)
		}
	}
	src := make(fakeSource)
	st := &Station{Run: baseRun(t), Auto: true, Events: ev.add, SysRoot: root}
	cancel, wait := serve(t, st, src)
	<-started
	waitFor := func(what string, ok func(Event) bool) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			ev.mu.Lock()
			found := slices.ContainsFunc(ev.list, ok)
			ev.mu.Unlock()
			if found {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within a minute\n%s", what, ev.lines())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// Present at start: left alone.
	src <- diskEvent(ActionChange, "decomtest0")
	waitFor("left alone as present", func(e Event) bool {
		i, ok := e.(*Ignored)
		return ok && i.Device == "/dev/decomtest0" && strings.Contains(i.Reason, "present")
	})
	// The medium goes, another comes: taken as a new drive (its inventory then
	// fails, since no /dev/decomtest0 exists; that it was looked up is the point).
	size("0")
	src <- diskEvent(ActionChange, "decomtest0")
	size("8192")
	src <- diskEvent(ActionChange, "decomtest0")
	waitFor("taken as a new drive", func(e Event) bool {
		f, ok := e.(*Failed)
		return ok && f.Device == "/dev/decomtest0"
	})
	cancel()
	if err := wait(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("station: %v\n%s", err, ev.lines())
	}
}
