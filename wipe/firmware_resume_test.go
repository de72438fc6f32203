package wipe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/internal/ata"
	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/drivesim"
	"github.com/decom-project/decom/internal/nvme"
	"github.com/decom-project/decom/internal/scsi"
)

// The check of a firmware sanitize after an interruption, against the drive simulator:
// a sanitize is started with the real Sanitize, which stops following it (its ctx is
// cancelled, as when decom dies), the simulated drive is power-cycled, and
// ResumeSanitize reads what became of it.

// resumeSim is a simulated drive of any transport, as the tests below need it.
type resumeSim struct {
	d          DriveCommands
	data, orig []byte
	powerCycle func()
	commands   func() []string
	running    func() bool
	// statusRead reads the drive's sanitize status as another host would, which
	// advances the simulated sanitize by a step: time passing before decom checks.
	statusRead func()
}

// transportOf names the transport of a firmware technique.
func transportOf(tech Technique) string {
	switch tech {
	case TechATASecurityErase, TechATASecurityEraseEnhanced, TechATASanitizeCrypto, TechATASanitizeBlock, TechATASanitizeOverwrite:
		return "ATA"
	case TechNVMeFormatUserData, TechNVMeFormatCrypto, TechNVMeSanitizeCrypto, TechNVMeSanitizeBlock, TechNVMeSanitizeOverwrite:
		return "NVMe"
	}
	return "SCSI"
}

func newResumeSim(t *testing.T, tech Technique, faults drivesim.Faults, sense drivesim.SenseFormat) *resumeSim {
	t.Helper()
	s := &resumeSim{}
	switch transportOf(tech) {
	case "ATA":
		sim, data, d := newATASim(t, drivesim.ATAConfig{Sanitize: allModes, Faults: faults, Sense: sense})
		s.d, s.data, s.powerCycle, s.commands = d, data, sim.PowerCycle, sim.Commands
		s.running = func() bool { return sim.State().SanitizeInProgress }
		s.statusRead = func() { _, _ = ata.Exec(sim, ata.SanitizeStatusExt(), nil, devio.DirNone, 0) }
	case "NVMe":
		sim, data, d := newNVMeSim(t, drivesim.NVMeConfig{OACS: 0x02, FNA: 0x04, SANICAP: 0x07, Faults: faults})
		s.d, s.data, s.powerCycle, s.commands = d, data, sim.PowerCycle, sim.Commands
		s.running = func() bool { return sim.State().SanitizeInProgress }
		s.statusRead = func() { _, _ = nvme.ReadSanitizeStatus(sim) }
	default:
		sim, data, d := newSCSISim(t, drivesim.SCSIConfig{Sanitize: allModes, Faults: faults})
		s.d, s.data, s.powerCycle, s.commands = d, data, sim.PowerCycle, sim.Commands
		s.running = func() bool { r, _, _ := sim.SanitizeState(); return r }
		s.statusRead = func() {
			_, _ = sim.Exec(&devio.SCSICommand{CDB: scsi.RequestSense(252), Dir: devio.DirFromDevice, Data: make([]byte, 252)})
		}
	}
	s.orig = bytes.Clone(s.data)
	return s
}

// interrupt starts a sanitize with Sanitize and stops following it after the drive's
// first report of progress, then power-cycles the drive. It returns when the command
// was sent, as a journal would have recorded it.
func (s *resumeSim) interrupt(t *testing.T, tech Technique) time.Time {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := fastOptions(new([]Event))
	o.Progress = func(e Event) {
		if e.Done > 0 {
			cancel()
		}
	}
	sent := time.Now()
	wantFailed(t, Sanitize(ctx, s.d, tech, o), "context canceled")
	if !s.running() {
		t.Fatal("the simulated sanitize should be running when decom stops following it")
	}
	s.powerCycle()
	if !s.running() {
		t.Fatal("the simulated sanitize should go on after the power cycle")
	}
	return sent
}

// resume runs ResumeSanitize and checks what every resumed check must be: marked
// resumed, with the time the command was sent, and nothing but status reads sent.
func (s *resumeSim) resume(t *testing.T, ctx context.Context, tech Technique, sent time.Time, events *[]Event) FirmwareRecord {
	t.Helper()
	before := len(s.commands())
	rec := ResumeSanitize(ctx, s.d, tech, sent, fastOptions(events))
	if !rec.Resumed || rec.Technique != tech {
		t.Errorf("record not marked resumed: %+v", rec)
	}
	if !sent.IsZero() && (rec.Sent == nil || !rec.Sent.Equal(sent)) {
		t.Errorf("sent %v, want %v", rec.Sent, sent)
	}
	if rec.Started.IsZero() || rec.Finished.Before(rec.Started) {
		t.Errorf("times %v %v", rec.Started, rec.Finished)
	}
	statusReads := []string{"IDENTIFY DEVICE", "SANITIZE STATUS EXT", "MODE SENSE(10)", "MODE SELECT(10)",
		"Get Log Page (Sanitize Status)", "REQUEST SENSE"}
	for _, c := range s.commands()[before:] {
		if !slices.Contains(statusReads, c) {
			t.Errorf("ResumeSanitize sent %q, which is not a status read: %q", c, s.commands()[before:])
		}
	}
	return rec
}

// erased reports whether the media shows the whole sanitize of tech (decom overwrites
// with zeros).
func (s *resumeSim) erased(tech Technique) bool {
	switch tech {
	case TechATASanitizeCrypto, TechNVMeSanitizeCrypto, TechSCSISanitizeCrypto:
		return freshNoise(s.data, s.orig)
	}
	return zeros(s.data)
}

var resumableTechniques = []Technique{
	TechATASanitizeCrypto, TechATASanitizeBlock, TechATASanitizeOverwrite,
	TechNVMeSanitizeCrypto, TechNVMeSanitizeBlock, TechNVMeSanitizeOverwrite,
	TechSCSISanitizeCrypto, TechSCSISanitizeBlock, TechSCSISanitizeOverwrite,
}

// A sanitize interrupted at a quarter resumes after the power cycle: ResumeSanitize
// follows it from half way to its end, and the media shows it.
func TestResumeSanitizeFollowsToTheEnd(t *testing.T) {
	want := map[string][]string{
		"ATA":  {"IDENTIFY DEVICE", "SANITIZE STATUS EXT (3 times)"},
		"NVMe": {"Get Log Page (Sanitize Status) (3 times)"},
		// The first answer is the power-on unit attention.
		"SCSI": {"REQUEST SENSE (4 times)"},
	}
	for _, tech := range resumableTechniques {
		t.Run(string(tech), func(t *testing.T) {
			s := newResumeSim(t, tech, drivesim.Faults{}, drivesim.DescriptorSense)
			sent := s.interrupt(t, tech)
			if s.erased(tech) {
				t.Fatal("the media shows the whole sanitize before it resumed")
			}
			var events []Event
			rec := s.resume(t, context.Background(), tech, sent, &events)
			wantCompleted(t, rec)
			if rec.Outcome != ResumeFollowed {
				t.Errorf("outcome %q", rec.Outcome)
			}
			wantCommands(t, "record", rec.Commands, want[transportOf(tech)])
			if !s.erased(tech) {
				t.Error("the media does not show the sanitize")
			}
			var done []int64
			for _, e := range events {
				done = append(done, e.Done)
			}
			if !slices.Equal(done, []int64{fwSize / 2, 3 * fwSize / 4, fwSize}) || !events[len(events)-1].Final {
				t.Errorf("progress %v, want half, three quarters, the end", done)
			}
			if events[0].Rate != 0 {
				t.Errorf("the progress made before the check counts in the rate: %+v", events[0])
			}
		})
	}
}

// An ATA drive whose translation layer returns fixed-format sense data is switched to
// descriptor format for the check, and back.
func TestResumeSanitizeATAFixedSense(t *testing.T) {
	s := newResumeSim(t, TechATASanitizeBlock, drivesim.Faults{}, drivesim.FixedSense)
	sent := s.interrupt(t, TechATASanitizeBlock)
	rec := s.resume(t, context.Background(), TechATASanitizeBlock, sent, new([]Event))
	wantCompleted(t, rec)
	wantCommands(t, "record", rec.Commands, []string{"IDENTIFY DEVICE", "SANITIZE STATUS EXT",
		"MODE SENSE(10) (control mode page)", "MODE SELECT(10) (control mode page, D_SENSE=1)",
		"SANITIZE STATUS EXT (2 times)", "MODE SELECT(10) (control mode page, D_SENSE=0)"})
	if !zeros(s.data) {
		t.Error("the media does not show the block erase")
	}
}

// A sanitize that ended before the check: the drive's status says it completed, which
// the record says it did not observe.
func TestResumeSanitizeAlreadyCompleted(t *testing.T) {
	want := map[string][]string{
		"ATA":  {"IDENTIFY DEVICE", "SANITIZE STATUS EXT"},
		"NVMe": {"Get Log Page (Sanitize Status)"},
		"SCSI": {"REQUEST SENSE"},
	}
	for _, tech := range resumableTechniques {
		t.Run(string(tech), func(t *testing.T) {
			s := newResumeSim(t, tech, drivesim.Faults{}, drivesim.DescriptorSense)
			sent := s.interrupt(t, tech)
			for s.running() {
				s.statusRead()
			}
			s.powerCycle()
			if transportOf(tech) == "SCSI" {
				s.statusRead() // someone else read the unit attention
			}
			var events []Event
			rec := s.resume(t, context.Background(), tech, sent, &events)
			wantCompleted(t, rec)
			wantCommands(t, "record", rec.Commands, want[transportOf(tech)])
			wantOutcome := ResumeDriveStatus
			if transportOf(tech) == "SCSI" {
				wantOutcome = ResumeNoFailure
			}
			if rec.Outcome != wantOutcome || !strings.Contains(rec.Note, "not observed by decom") {
				t.Errorf("outcome %q, note %q", rec.Outcome, rec.Note)
			}
			if len(events) != 1 || !events[0].Final || events[0].Done != fwSize {
				t.Errorf("events %+v", events)
			}
			if !s.erased(tech) {
				t.Error("the media does not show the sanitize")
			}
		})
	}
}

// A sanitize the drive fails, while decom follows it or before the check, is failed with
// the drive's reason; never completed.
func TestResumeSanitizeFailedByTheDrive(t *testing.T) {
	reason := map[string]string{
		"ATA":  "the drive reports that the sanitize failed (the sanitize did not complete",
		"NVMe": "the controller reports that the sanitize failed",
		"SCSI": "SANITIZE COMMAND FAILED",
	}
	for _, tech := range resumableTechniques {
		t.Run(string(tech)+"/while followed", func(t *testing.T) {
			s := newResumeSim(t, tech, drivesim.Faults{FailAt: 0.6}, drivesim.DescriptorSense)
			sent := s.interrupt(t, tech)
			rec := s.resume(t, context.Background(), tech, sent, new([]Event))
			wantFailed(t, rec, reason[transportOf(tech)])
			if rec.Outcome != ResumeFollowed {
				t.Errorf("outcome %q", rec.Outcome)
			}
			if s.erased(tech) {
				t.Error("the simulated sanitize should have stopped part way")
			}
		})
		t.Run(string(tech)+"/before the check", func(t *testing.T) {
			s := newResumeSim(t, tech, drivesim.Faults{FailAt: 0.6}, drivesim.DescriptorSense)
			sent := s.interrupt(t, tech)
			for s.running() {
				s.statusRead()
			}
			s.powerCycle()
			rec := s.resume(t, context.Background(), tech, sent, new([]Event))
			wantFailed(t, rec, reason[transportOf(tech)], "after the interruption", "--restart")
			if rec.Outcome != ResumeDriveStatus {
				t.Errorf("outcome %q", rec.Outcome)
			}
		})
	}
}

// A drive that never sanitized: nothing tells that the command reached it.
func TestResumeSanitizeNeverSanitized(t *testing.T) {
	for _, tech := range resumableTechniques {
		t.Run(string(tech), func(t *testing.T) {
			s := newResumeSim(t, tech, drivesim.Faults{}, drivesim.DescriptorSense)
			s.powerCycle()
			rec := s.resume(t, context.Background(), tech, time.Now(), new([]Event))
			if !bytes.Equal(s.data, s.orig) {
				t.Error("data changed")
			}
			if transportOf(tech) == "SCSI" {
				// The limit of SCSI: no record of a completed sanitize, so a drive that
				// never received one looks the same. The outcome says so, and the
				// read-back verification finds the old data.
				if !rec.Completed || rec.Outcome != ResumeNoFailure || !strings.Contains(rec.Note, "never received the command reports the same") {
					t.Errorf("record %+v", rec)
				}
				return
			}
			wantFailed(t, rec, "the drive reports no completed sanitize after the interruption; run the wipe again (--restart)")
			if rec.Outcome != ResumeUnknown {
				t.Errorf("outcome %q", rec.Outcome)
			}
		})
	}
}

// The NVMe log describes the most recent sanitize: one of another kind is not the one
// decom sent.
func TestResumeSanitizeNVMeOtherAction(t *testing.T) {
	s := newResumeSim(t, TechNVMeSanitizeBlock, drivesim.Faults{}, drivesim.DescriptorSense)
	sent := s.interrupt(t, TechNVMeSanitizeBlock)
	rec := s.resume(t, context.Background(), TechNVMeSanitizeCrypto, sent, new([]Event))
	wantFailed(t, rec, "running a sanitize of another kind (block erase), not the crypto erase decom sent")
	for s.running() {
		s.statusRead()
	}
	rec = s.resume(t, context.Background(), TechNVMeSanitizeCrypto, sent, new([]Event))
	wantFailed(t, rec, "most recent sanitize was of another kind (block erase): the crypto erase decom sent did not run")
}

// Format NVM and SECURITY ERASE UNIT do not resume: failed, with what to do, and
// nothing is sent again.
func TestResumeSanitizeNotResumable(t *testing.T) {
	for _, tech := range []Technique{TechNVMeFormatUserData, TechNVMeFormatCrypto} {
		t.Run(string(tech), func(t *testing.T) {
			s := newResumeSim(t, tech, drivesim.Faults{}, drivesim.DescriptorSense)
			s.powerCycle()
			sent := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
			rec := s.resume(t, context.Background(), tech, sent, new([]Event))
			wantFailed(t, rec, "Format NVM (sent 2026-03-01T10:00:00Z) was interrupted", "partly formatted or unusable",
				"decom does not send it again by itself", "--restart")
			wantCommands(t, "record", rec.Commands, []string{})
			wantCommands(t, "drive log", s.commands(), []string{})
			if rec.Outcome != ResumeUnknown {
				t.Errorf("outcome %q", rec.Outcome)
			}
		})
	}
	for _, tech := range []Technique{TechATASecurityErase, TechATASecurityEraseEnhanced} {
		t.Run(string(tech)+"/left locked", func(t *testing.T) {
			// The state a power loss during SECURITY ERASE UNIT leaves: the temporary
			// user password decom set, at level High, and the drive locked.
			sim, data, d := newATASim(t, drivesim.ATAConfig{Security: true, EnhancedErase: true, UserPassword: []byte("lost with decom's memory")})
			orig := bytes.Clone(data)
			sim.PowerCycle()
			rec := ResumeSanitize(context.Background(), d, tech, time.Now(), fastOptions(new([]Event)))
			wantFailed(t, rec, "SECURITY ERASE UNIT (sent ", "was interrupted", "security enabled and locked with decom's temporary user password",
				"master password", "hdparm --user-master m --security-unlock MASTER DEVICE", "--restart")
			wantCommands(t, "record", rec.Commands, []string{"IDENTIFY DEVICE"})
			wantCommands(t, "drive log", sim.Commands(), []string{"IDENTIFY DEVICE"})
			if !rec.Resumed || rec.Outcome != ResumeUnknown || !bytes.Equal(data, orig) {
				t.Errorf("record %+v", rec)
			}
			// The advice works: the master password unlocks a drive at level High,
			// and disables its password.
			master := ata.Password{Secret: []byte("drivesim-master"), Master: true}
			c, block, err := ata.SecurityUnlock(master)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ata.Exec(sim, c, block, devio.DirToDevice, 0); err != nil {
				t.Fatalf("unlock with the master password: %v", err)
			}
			c, block, _ = ata.SecurityDisablePassword(master)
			if _, err := ata.Exec(sim, c, block, devio.DirToDevice, 0); err != nil {
				t.Fatalf("disable with the master password: %v", err)
			}
			if st := sim.State(); st.SecurityEnabled || st.Locked {
				t.Errorf("state %+v", st)
			}
		})
		t.Run(string(tech)+"/security disabled", func(t *testing.T) {
			sim, _, d := newATASim(t, drivesim.ATAConfig{Security: true, EnhancedErase: true})
			sim.PowerCycle()
			rec := ResumeSanitize(context.Background(), d, tech, time.Now(), fastOptions(new([]Event)))
			wantFailed(t, rec, "security disabled, which a completed erase leaves but so does an erase that never began", "--restart")
			wantCommands(t, "drive log", sim.Commands(), []string{"IDENTIFY DEVICE"})
		})
	}
}

// The check follows a resumed sanitize with Sanitize's rules: a stall or a regression
// fails it, and a cancellation stops the polling, not the drive.
func TestResumeSanitizeFollowingRules(t *testing.T) {
	for _, tech := range []Technique{TechATASanitizeBlock, TechNVMeSanitizeBlock, TechSCSISanitizeBlock} {
		t.Run(string(tech)+"/stall", func(t *testing.T) {
			s := newResumeSim(t, tech, drivesim.Faults{StallAt: 0.75}, drivesim.DescriptorSense)
			sent := s.interrupt(t, tech)
			wantFailed(t, s.resume(t, context.Background(), tech, sent, new([]Event)), "has not moved from 75.0%", "stuck")
		})
		t.Run(string(tech)+"/regression", func(t *testing.T) {
			s := newResumeSim(t, tech, drivesim.Faults{RegressAt: 0.5}, drivesim.DescriptorSense)
			sent := s.interrupt(t, tech)
			wantFailed(t, s.resume(t, context.Background(), tech, sent, new([]Event)), "went backwards")
		})
		t.Run(string(tech)+"/cancelled", func(t *testing.T) {
			s := newResumeSim(t, tech, drivesim.Faults{}, drivesim.DescriptorSense)
			sent := s.interrupt(t, tech)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			events := []Event{}
			s.d.Path = "/dev/sim"
			o := fastOptions(&events)
			o.Progress = func(Event) { cancel() }
			before := len(s.commands())
			rec := ResumeSanitize(ctx, s.d, tech, sent, o)
			wantFailed(t, rec, "context canceled", "goes on with it by itself")
			if rec.Outcome != ResumeFollowed || !s.running() {
				t.Errorf("outcome %q, running %v", rec.Outcome, s.running())
			}
			if len(s.commands()) == before {
				t.Error("nothing read")
			}
		})
	}
	t.Run("cancelled before", func(t *testing.T) {
		s := newResumeSim(t, TechNVMeSanitizeBlock, drivesim.Faults{}, drivesim.DescriptorSense)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		wantFailed(t, ResumeSanitize(ctx, s.d, TechNVMeSanitizeBlock, time.Now(), fastOptions(new([]Event))), "not checked")
		wantCommands(t, "drive log", s.commands(), []string{})
	})
	t.Run("wrong interface", func(t *testing.T) {
		s := newResumeSim(t, TechSCSISanitizeBlock, drivesim.Faults{}, drivesim.DescriptorSense)
		wantFailed(t, ResumeSanitize(context.Background(), s.d, TechNVMeSanitizeBlock, time.Now(), fastOptions(new([]Event))),
			"no NVMe command interface")
		wantFailed(t, ResumeSanitize(context.Background(), s.d, Technique("overwrite"), time.Now(), fastOptions(new([]Event))),
			"not a firmware technique")
	})
}

// A status that cannot be read tells nothing: failed, never completed.
func TestResumeSanitizeUnreadableStatus(t *testing.T) {
	t.Run("NVMe", func(t *testing.T) {
		sim, _, d := newNVMeSim(t, drivesim.NVMeConfig{SANICAP: 0x07, QEMU: true})
		rec := ResumeSanitize(context.Background(), d, TechNVMeSanitizeCrypto, time.Now(), fastOptions(new([]Event)))
		wantFailed(t, rec, "reading the controller's Sanitize Status log page", "is not known", "--restart")
		wantCommands(t, "drive log", sim.Commands(), []string{"Get Log Page (Sanitize Status)"})
	})
	t.Run("ATA without sanitize", func(t *testing.T) {
		_, _, d := newATASim(t, drivesim.ATAConfig{Security: true})
		wantFailed(t, ResumeSanitize(context.Background(), d, TechATASanitizeBlock, time.Now(), fastOptions(new([]Event))),
			"IDENTIFY DEVICE word 59", "no completed sanitize after the interruption")
	})
	t.Run("SCSI transport error", func(t *testing.T) {
		sim, _, d := newSCSISim(t, drivesim.SCSIConfig{Sanitize: allModes})
		d.SCSI = hooked{sim, func(*devio.SCSICommand) error { return errors.New("sg_io: DID_NO_CONNECT") }}
		wantFailed(t, ResumeSanitize(context.Background(), d, TechSCSISanitizeBlock, time.Now(), fastOptions(new([]Event))),
			"DID_NO_CONNECT", "is not known", "--restart")
	})
	t.Run("SCSI unit attention forever", func(t *testing.T) {
		sim, _, d := newSCSISim(t, drivesim.SCSIConfig{Sanitize: allModes})
		ua := &unitAttention{SCSI: sim, n: 1}
		d.SCSI = hooked{ua, func(*devio.SCSICommand) error { ua.n = 1; return nil }}
		wantFailed(t, ResumeSanitize(context.Background(), d, TechSCSISanitizeBlock, time.Now(), fastOptions(new([]Event))),
			"UNIT ATTENTION again and again")
	})
}

// The record of a resumed check says so in JSON; Sanitize's does not.
func TestResumeRecordJSON(t *testing.T) {
	s := newResumeSim(t, TechNVMeSanitizeBlock, drivesim.Faults{}, drivesim.DescriptorSense)
	sent := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	b, err := json.Marshal(ResumeSanitize(context.Background(), s.d, TechNVMeSanitizeBlock, sent, fastOptions(new([]Event))))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"resumed":true`, `"sent":"2026-03-01T10:00:00Z"`, `"outcome":"unknown"`, `"commands":["Get Log Page (Sanitize Status)"]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s does not hold %s", b, want)
		}
	}
	b, err = json.Marshal(Sanitize(context.Background(), s.d, TechNVMeSanitizeBlock, fastOptions(new([]Event))))
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"resumed", "sent", "outcome", "note"} {
		if strings.Contains(string(b), `"`+field+`"`) {
			t.Errorf("the record of a sanitize followed from its start has %q: %s", field, b)
		}
	}
}

func TestVerdicts(t *testing.T) {
	aborted := &ata.CommandError{Registers: ata.Registers{Status: 0x51, Error: 0x04, LBA: 1}}
	for _, tc := range []struct {
		name string
		st   ata.SanitizeStatus
		err  error
		want verdict
		why  string
	}{
		{"in progress", ata.SanitizeStatus{InProgress: true, Progress: 0.5}, nil, verdictRunning, ""},
		{"in progress after an earlier success", ata.SanitizeStatus{InProgress: true, CompletedWithoutError: true}, nil, verdictRunning, ""},
		{"completed", ata.SanitizeStatus{CompletedWithoutError: true}, nil, verdictCompleted, ""},
		{"completed, frozen since", ata.SanitizeStatus{CompletedWithoutError: true, Frozen: true}, nil, verdictCompleted, ""},
		{"nothing", ata.SanitizeStatus{}, nil, verdictNone, ""},
		{"frozen only", ata.SanitizeStatus{Frozen: true, AntifreezeLocked: true}, nil, verdictNone, ""},
		{"failed", ata.SanitizeStatus{}, aborted, verdictFailed, "the sanitize did not complete"},
		{"transport error", ata.SanitizeStatus{}, errors.New("sg_io"), verdictNone, ""},
	} {
		v, why := ataVerdict(tc.st, tc.err)
		if v != tc.want || !strings.Contains(why, tc.why) {
			t.Errorf("ATA %s: %v %q, want %v %q", tc.name, v, why, tc.want, tc.why)
		}
	}
	for _, tc := range []struct {
		name string
		st   nvme.SanitizeStatus
		want verdict
		why  string
	}{
		{"never", nvme.SanitizeStatus{State: nvme.SanitizeNever}, verdictNone, ""},
		{"in progress", nvme.SanitizeStatus{State: nvme.SanitizeInProgress, CDW10: 4}, verdictRunning, ""},
		{"in progress, no CDW10", nvme.SanitizeStatus{State: nvme.SanitizeInProgress}, verdictRunning, ""},
		{"in progress, other", nvme.SanitizeStatus{State: nvme.SanitizeInProgress, CDW10: 2}, verdictFailed, "another kind (block erase)"},
		{"completed", nvme.SanitizeStatus{State: nvme.SanitizeCompleted, CDW10: 4 | 1<<3}, verdictCompleted, ""},
		{"completed, deallocated", nvme.SanitizeStatus{State: nvme.SanitizeCompletedDeallocated, CDW10: 4}, verdictCompleted, ""},
		{"completed, no CDW10", nvme.SanitizeStatus{State: nvme.SanitizeCompleted}, verdictCompleted, ""},
		{"completed, other", nvme.SanitizeStatus{State: nvme.SanitizeCompleted, CDW10: 3}, verdictFailed, "another kind (overwrite)"},
		{"failed", nvme.SanitizeStatus{State: nvme.SanitizeFailed, CDW10: 4}, verdictFailed, "failed"},
		{"reserved", nvme.SanitizeStatus{State: 5, CDW10: 4}, verdictNone, ""},
	} {
		v, why := nvmeVerdict(tc.st, nvme.SanitizeCryptoErase)
		if v != tc.want || !strings.Contains(why, tc.why) {
			t.Errorf("NVMe %s: %v %q, want %v %q", tc.name, v, why, tc.want, tc.why)
		}
	}
	for _, tc := range []struct {
		name  string
		sense []byte
		want  verdict
	}{
		{"no sense", []byte{0x70, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, verdictCompleted},
		{"deferred no sense", []byte{0x71, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, verdictNone},
		{"in progress", []byte{0x70, 0, 0x02, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x04, 0x1b, 0, 0x80, 0x80, 0}, verdictRunning},
		{"becoming ready", []byte{0x70, 0, 0x02, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x04, 0x01, 0, 0, 0, 0}, verdictNone},
		{"failed", []byte{0x72, 0x03, 0x31, 0x03, 0, 0, 0, 0}, verdictFailed},
		{"other medium error", []byte{0x72, 0x03, 0x31, 0x00, 0, 0, 0, 0}, verdictNone},
		{"unit attention", []byte{0x70, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x29, 0x00, 0, 0, 0, 0}, verdictNone},
	} {
		s, err := scsi.ParseSense(tc.sense)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if v, _ := scsiVerdict(s); v != tc.want {
			t.Errorf("SCSI %s: %v, want %v", tc.name, v, tc.want)
		}
	}
}

// Whatever sense data a drive returns, a sanitize counts as running only with SANITIZE
// IN PROGRESS, and as completed only with NO SENSE.
func FuzzSCSIVerdict(f *testing.F) {
	f.Add([]byte{0x70, 0, 0x02, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x04, 0x1b, 0, 0x80, 0x80, 0})
	f.Add([]byte{0x72, 0x03, 0x31, 0x03, 0, 0, 0, 0})
	f.Add([]byte{0x70, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := scsi.ParseSense(b)
		if err != nil {
			return
		}
		v, why := scsiVerdict(s)
		switch v {
		case verdictRunning:
			if s.Key != scsi.NotReady || s.ASC != 0x04 || s.ASCQ != 0x1b {
				t.Errorf("running on %s", s)
			}
		case verdictCompleted:
			if s.Key != scsi.NoSense || s.Deferred() {
				t.Errorf("completed on %s", s)
			}
		case verdictFailed:
			if s.Key != scsi.MediumError || why == "" {
				t.Errorf("failed on %s: %q", s, why)
			}
		}
	})
}
