package wipe

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/decom-project/decom/internal/ata"
	"github.com/decom-project/decom/internal/nvme"
	"github.com/decom-project/decom/internal/scsi"
)

// ResumeSanitize and what it reads: the check, after a power loss or a crash, of a
// firmware sanitize that decom had sent and could not follow to its end.

// ResumeOutcome says how the result of a resumed check is known.
type ResumeOutcome string

const (
	// ResumeFollowed: after the interruption the drive reported the sanitize still
	// running (it resumes by itself after a power loss), and decom followed it to its
	// end; the record is completed or failed by the drive's final status.
	ResumeFollowed ResumeOutcome = "followed"
	// ResumeDriveStatus: the sanitize had already ended, and the drive's status says
	// how. A completion is then confirmed by the drive, not observed by decom.
	ResumeDriveStatus ResumeOutcome = "drive status"
	// ResumeNoFailure: SCSI only. The sanitize had ended, and the drive reports none
	// running and none failed: what a completed sanitize leaves, since SCSI drives keep
	// no record of one, but also what a drive shows that never received the command.
	// The record is Completed; only the read-back verification shows the media
	// sanitized.
	ResumeNoFailure ResumeOutcome = "no failure reported"
	// ResumeUnknown: the drive tells nothing either way (never sanitized, a technique
	// that keeps no status, a status that could not be read); the record is failed.
	ResumeUnknown ResumeOutcome = "unknown"
)

// restartHint is what the operator does when the drive cannot say how the sanitize ended.
const restartHint = "run the wipe again (--restart)"

// errNoEvidence: the drive keeps no trace of a sanitize either way.
var errNoEvidence = errors.New("the drive reports no completed sanitize after the interruption; " + restartHint)

// ResumeSanitize checks, after an interruption, the firmware sanitize with technique tech
// that decom sent to drive d at sent (as the journal recorded it, before the command went
// out), and returns its record with Resumed set. It never sends a sanitize, a format or an
// erase: only the reads of the drive's status (IDENTIFY DEVICE and SANITIZE STATUS EXT;
// the Sanitize Status log page; REQUEST SENSE), which Commands lists, and for an ATA
// drive behind a translation layer that returns fixed-format sense data the switch to
// descriptor format that Sanitize makes too (and undoes).
//
//   - A sanitize still in progress (NVMe SSTAT in progress, ATA SANITIZE STATUS EXT in
//     progress, SCSI NOT READY, SANITIZE IN PROGRESS) is followed to its end as Sanitize
//     follows one: the same progress events, stall rule, and cancellation (ctx's end
//     stops the polling, not the drive). Outcome is ResumeFollowed.
//   - A sanitize the drive reports completed (NVMe SSTAT completed, or completed with
//     deallocation, of the action of tech; ATA "sanitize operation completed without
//     error") is Completed, with Outcome ResumeDriveStatus and a Note saying that the
//     drive confirmed it after the interruption. A SCSI drive keeps no record of a
//     completed sanitize: one that reports no sanitize running and none failed is
//     Completed with Outcome ResumeNoFailure, and only the read-back verification
//     confirms the media.
//   - A sanitize the drive reports failed (NVMe SSTAT failed, an ATA SANITIZE STATUS EXT
//     aborted with its reason, SCSI MEDIUM ERROR, SANITIZE COMMAND FAILED), or an NVMe
//     log naming another sanitize action as the last, is failed with the drive's reason.
//   - No evidence either way (NVMe never sanitized, an ATA drive with no sanitize in
//     progress or completed, a status that cannot be read) is failed: the drive reports
//     no completed sanitize after the interruption; run the wipe again (--restart).
//   - Format NVM and ATA SECURITY ERASE UNIT do not resume after a power loss and leave
//     no status to read: failed, with what the interruption left and what the operator
//     must do (a security erase leaves the drive locked with decom's temporary
//     password, which only its master password now unlocks).
//
// Like Sanitize it never returns without a record, and Completed is set only when the
// drive itself reported the sanitize completed.
func ResumeSanitize(ctx context.Context, d DriveCommands, tech Technique, sent time.Time, o FirmwareOptions) FirmwareRecord {
	r := &firmwareRun{ctx: ctx, d: d, tech: tech, o: o.withDefaults()}
	r.rec = FirmwareRecord{Technique: tech, Commands: []string{}, Started: time.Now().UTC(),
		Resumed: true, Outcome: ResumeUnknown}
	if !sent.IsZero() {
		s := sent.UTC()
		r.rec.Sent = &s
	}
	r.o.Logger.Info("checking an interrupted firmware sanitize", "device", d.Path, "technique", string(tech), "sent", sent)
	return r.finish(r.resume())
}

func (r *firmwareRun) resume() error {
	if err := r.ctx.Err(); err != nil {
		return fmt.Errorf("not checked: %w", err)
	}
	if err := r.checkInterface(); err != nil {
		return err
	}
	switch r.tech {
	case TechATASecurityErase, TechATASecurityEraseEnhanced:
		return r.ataResumeSecurityErase()
	case TechATASanitizeCrypto, TechATASanitizeBlock, TechATASanitizeOverwrite:
		return r.ataResumeSanitize()
	case TechNVMeFormatUserData, TechNVMeFormatCrypto:
		return r.nvmeResumeFormat()
	case TechNVMeSanitizeCrypto:
		return r.nvmeResumeSanitize(nvme.SanitizeCryptoErase)
	case TechNVMeSanitizeBlock:
		return r.nvmeResumeSanitize(nvme.SanitizeBlockErase)
	case TechNVMeSanitizeOverwrite:
		return r.nvmeResumeSanitize(nvme.SanitizeOverwrite)
	case TechSCSISanitizeCrypto, TechSCSISanitizeBlock, TechSCSISanitizeOverwrite:
		return r.scsiResumeSanitize()
	}
	return fmt.Errorf("%q is not a firmware technique", string(r.tech))
}

// verdict is what a drive's sanitize status says about an interrupted sanitize.
type verdict int

const (
	verdictNone      verdict = iota // nothing either way
	verdictRunning                  // still running: follow it
	verdictCompleted                // completed successfully
	verdictFailed                   // failed
)

// ataVerdict judges the answer to SANITIZE STATUS EXT: st, or err when the drive aborted
// it (the last sanitize failed). The string is the failure's reason.
func ataVerdict(st ata.SanitizeStatus, err error) (verdict, string) {
	switch {
	case errors.Is(err, ata.ErrAborted):
		return verdictFailed, ataSanitizeFailed(err).Error()
	case err != nil:
		return verdictNone, ""
	case st.InProgress:
		return verdictRunning, ""
	case st.CompletedWithoutError:
		return verdictCompleted, ""
	}
	return verdictNone, ""
}

// nvmeVerdict judges the Sanitize Status log page for a sanitize of kind action.
func nvmeVerdict(st nvme.SanitizeStatus, action nvme.SanitizeAction) (verdict, string) {
	switch {
	case st.State == nvme.SanitizeInProgress && otherSanitize(st, action):
		return verdictFailed, fmt.Sprintf("the controller is running a sanitize of another kind (%s), not the %s decom sent",
			nvme.SanitizeAction(st.CDW10&0x7), action)
	case st.State == nvme.SanitizeInProgress:
		return verdictRunning, ""
	case st.State.Succeeded() && otherSanitize(st, action):
		return verdictFailed, fmt.Sprintf("the controller's most recent sanitize was of another kind (%s): the %s decom sent did not run",
			nvme.SanitizeAction(st.CDW10&0x7), action)
	case st.State.Succeeded():
		return verdictCompleted, ""
	case st.State == nvme.SanitizeFailed:
		return verdictFailed, "the controller reports that the sanitize failed (Sanitize Status log page, SSTAT failed)"
	}
	return verdictNone, ""
}

// scsiVerdict judges a drive's sense data, as REQUEST SENSE returns it.
func scsiVerdict(s scsi.Sense) (verdict, string) {
	switch {
	case sanitizeInProgress(s):
		return verdictRunning, ""
	case sanitizeFailedSense(s):
		return verdictFailed, "the drive reports that the sanitize failed (MEDIUM ERROR, SANITIZE COMMAND FAILED)"
	case s.Key == scsi.NoSense && !s.Deferred():
		return verdictCompleted, ""
	}
	return verdictNone, ""
}

// follow polls a sanitize that the drive reports still running after the interruption,
// at progress p (negative: not said), to its end.
func (r *firmwareRun) follow(p float64, read func() (float64, bool, error)) error {
	r.rec.Outcome = ResumeFollowed
	r.doneBefore = int64(max(p, 0) * float64(r.d.Size))
	r.o.Logger.Info("the drive resumed the interrupted sanitize by itself; following it", "device", r.d.Path,
		"technique", string(r.tech), "progress", max(p, 0))
	if p >= 0 {
		r.progress(p, false)
	}
	return r.pollFrom(p, read)
}

// confirmed records a sanitize that had ended, completed, before the check.
func (r *firmwareRun) confirmed(note string) error {
	return r.ended(ResumeDriveStatus, note)
}

// ended records a sanitize that had ended before the check, known by outcome.
func (r *firmwareRun) ended(outcome ResumeOutcome, note string) error {
	r.rec.Outcome = outcome
	r.rec.Note = note
	r.doneBefore = r.d.Size
	r.progress(1, true)
	return nil
}

// failedByDrive records a sanitize that the drive reports failed.
func (r *firmwareRun) failedByDrive(why string) error {
	r.rec.Outcome = ResumeDriveStatus
	return fmt.Errorf("%s, after the interruption; %s", why, restartHint)
}

// unreadable is the error of a status that could not be read.
func unreadable(what string, err error) error {
	return fmt.Errorf("%s: %w; what became of the interrupted sanitize is not known: %s", what, err, restartHint)
}

// sentAt names when the command was sent, for errors.
func (r *firmwareRun) sentAt() string {
	if r.rec.Sent == nil {
		return ""
	}
	return " (sent " + r.rec.Sent.Format(time.RFC3339) + ")"
}

func (r *firmwareRun) ataResumeSanitize() error {
	id, err := r.identify()
	if err != nil {
		return unreadable("reading IDENTIFY DEVICE", err)
	}
	if !id.Sanitize.Supported {
		return fmt.Errorf("the drive does not report the Sanitize Device feature set (IDENTIFY DEVICE word 59), so it has no sanitize status to read: %w", errNoEvidence)
	}
	st, err := r.ataSanitizeStatus()
	if err != nil && !errors.Is(err, ata.ErrAborted) {
		return unreadable("reading the sanitize status", err)
	}
	switch v, why := ataVerdict(st, err); v {
	case verdictRunning:
		return r.follow(st.Progress, r.ataSanitizeProgress)
	case verdictCompleted:
		return r.confirmed("after the interruption the drive reported that its last sanitize completed without error (SANITIZE STATUS EXT): confirmed by the drive, not observed by decom")
	case verdictFailed:
		return r.failedByDrive(why)
	}
	return errNoEvidence
}

func (r *firmwareRun) nvmeResumeSanitize(action nvme.SanitizeAction) error {
	st, err := r.nvmeSanitizeStatus()
	if err != nil {
		return unreadable("reading the controller's Sanitize Status log page", err)
	}
	switch v, why := nvmeVerdict(st, action); v {
	case verdictRunning:
		return r.follow(st.Progress(), func() (float64, bool, error) { return r.nvmeSanitizeProgress(action) })
	case verdictCompleted:
		return r.confirmed(fmt.Sprintf("after the interruption the controller reported that its most recent sanitize, a %s, completed (Sanitize Status log page: %s): confirmed by the drive, not observed by decom",
			action, st.State))
	case verdictFailed:
		return r.failedByDrive(why)
	}
	if st.State != nvme.SanitizeNever {
		return fmt.Errorf("the controller reports a sanitize state decom does not know (%s): %w", st.State, errNoEvidence)
	}
	return errNoEvidence
}

// resumeSense reads the drive's sense data after a power loss: the unit attention of the
// power-on or reset comes first, and is read past.
func (r *firmwareRun) resumeSense() (scsi.Sense, error) {
	for range 4 {
		s, err := r.requestSense()
		if err != nil || s.Key != scsi.UnitAttention {
			return s, err
		}
	}
	return scsi.Sense{}, errors.New("the drive answers REQUEST SENSE with UNIT ATTENTION again and again")
}

func (r *firmwareRun) scsiResumeSanitize() error {
	s, err := r.resumeSense()
	if err != nil {
		return unreadable("reading the drive's sense data", err)
	}
	switch v, why := scsiVerdict(s); v {
	case verdictRunning:
		p, ok := s.Progress()
		if !ok {
			p = -1
		}
		return r.follow(p, r.scsiSanitizeProgress)
	case verdictCompleted:
		return r.ended(ResumeNoFailure, "after the interruption the drive reported no sanitize in progress and no failed one (REQUEST SENSE), which is what a completed sanitize leaves: not observed by decom; SCSI drives keep no record of a completed sanitize, and a drive that never received the command reports the same, so only the read-back verification shows the media sanitized")
	case verdictFailed:
		return r.failedByDrive(why)
	}
	return fmt.Errorf("unexpected answer to REQUEST SENSE (%s): what became of the interrupted sanitize is not known: %s", s, restartHint)
}

func (r *firmwareRun) nvmeResumeFormat() error {
	return fmt.Errorf("Format NVM%s was interrupted before the controller answered, and a format leaves no status to read afterwards: "+
		"it may have completed, or stopped part way and left the namespace partly formatted or unusable (reads fail) until it is formatted again; "+
		"decom does not send it again by itself: %s, which formats the namespace anew", r.sentAt(), restartHint)
}

func (r *firmwareRun) ataResumeSecurityErase() error {
	const what = "SECURITY ERASE UNIT%s was interrupted before the drive answered; an interrupted security erase does not resume after a power loss, and no status says how far it got"
	id, err := r.identify()
	if err != nil {
		return fmt.Errorf(what+"; reading IDENTIFY DEVICE failed too (%v). %s", r.sentAt(), err, masterHint)
	}
	s := id.Security
	if s.Enabled || s.Locked {
		state := "enabled"
		if s.Locked {
			state = "enabled and locked"
		}
		return fmt.Errorf(what+"; the drive keeps security %s with decom's temporary user password. %s", r.sentAt(), state, masterHint)
	}
	return fmt.Errorf(what+"; the drive shows security disabled, which a completed erase leaves but so does an erase that never began: "+
		"nothing says the data was erased; %s", r.sentAt(), restartHint)
}

// masterHint tells the operator how to get back a drive left with decom's temporary
// password, which decom kept only in memory.
const masterHint = "decom kept that password only in memory and no longer has it: unlock the drive with its master password (from the vendor; decom sets the user password at security level High, so the master password unlocks it), " +
	"e.g. hdparm --user-master m --security-unlock MASTER DEVICE, then hdparm --user-master m --security-disable MASTER DEVICE; then " + restartHint
