package wipe

import (
	"errors"
	"fmt"

	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/scsi"
)

// SCSI SANITIZE, followed through REQUEST SENSE.

func (r *firmwareRun) scsiExec(name string, cmd *devio.SCSICommand) (devio.SCSIResult, error) {
	r.send(name)
	res, err := r.d.SCSI.Exec(cmd)
	if err != nil {
		return res, fmt.Errorf("%s: %w", name, err)
	}
	if err := scsi.Check(res); err != nil {
		return res, fmt.Errorf("%s: %w", name, err)
	}
	return res, nil
}

// requestSense fetches the drive's sense data, which carries a sanitize's progress.
func (r *firmwareRun) requestSense() (scsi.Sense, error) {
	buf := make([]byte, 252)
	res, err := r.scsiExec("REQUEST SENSE", &devio.SCSICommand{CDB: scsi.RequestSense(252), Dir: devio.DirFromDevice, Data: buf})
	if err != nil {
		return scsi.Sense{}, err
	}
	b := buf[:len(buf)-res.Resid]
	if len(b) == 0 {
		return scsi.Sense{ResponseCode: 0x70, Key: scsi.NoSense}, nil
	}
	s, err := scsi.ParseSense(b)
	if err != nil {
		return scsi.Sense{}, fmt.Errorf("REQUEST SENSE: %w", err)
	}
	return s, nil
}

func sanitizeInProgress(s scsi.Sense) bool {
	return s.Key == scsi.NotReady && s.ASC == 0x04 && s.ASCQ == 0x1b
}

func (r *firmwareRun) scsiSanitize(sa scsi.SanitizeAction) error {
	name := map[scsi.SanitizeAction]string{
		scsi.SanitizeOverwrite:   "SANITIZE (OVERWRITE, IMMED)",
		scsi.SanitizeBlockErase:  "SANITIZE (BLOCK ERASE, IMMED)",
		scsi.SanitizeCryptoErase: "SANITIZE (CRYPTOGRAPHIC ERASE, IMMED)",
	}[sa]
	buf := make([]byte, 64)
	res, err := r.scsiExec("REPORT SUPPORTED OPERATION CODES (SANITIZE)", &devio.SCSICommand{
		CDB: scsi.ReportServiceAction(scsi.OpSanitize, uint16(sa), uint32(len(buf))), Dir: devio.DirFromDevice, Data: buf})
	switch {
	case errors.Is(err, devio.ErrUnsupported):
		// Not every drive reports its commands; SANITIZE itself will tell.
		r.o.Logger.Info("the drive does not report its supported commands", "device", r.d.Path)
	case err != nil:
		return err
	default:
		cs, err := scsi.ParseOneCommand(buf[:len(buf)-res.Resid])
		if err != nil {
			return fmt.Errorf("REPORT SUPPORTED OPERATION CODES: %w", err)
		}
		if !cs.Supported() {
			return errors.New("not supported by the drive (REPORT SUPPORTED OPERATION CODES)")
		}
	}
	s, err := r.requestSense()
	if err != nil {
		return err
	}
	if sanitizeInProgress(s) {
		p, _ := s.Progress()
		return fmt.Errorf("a sanitize is already in progress on the drive (%.1f%%): let it finish, then try again", 100*p)
	}

	cmd := &devio.SCSICommand{Dir: devio.DirNone}
	if sa == scsi.SanitizeOverwrite {
		cmd.CDB, cmd.Data, err = scsi.SanitizeOverwriteCDB(scsi.Overwrite{Passes: 1, Pattern: []byte{0}}, scsi.SanitizeImmed)
		cmd.Dir = devio.DirToDevice
	} else {
		cmd.CDB, err = scsi.Sanitize(sa, scsi.SanitizeImmed)
	}
	if err != nil {
		return err
	}
	if err := r.ctx.Err(); err != nil {
		return fmt.Errorf("not started: %w", err)
	}
	if _, err := r.scsiExec(name, cmd); err != nil {
		if errors.Is(err, devio.ErrUnsupported) {
			return fmt.Errorf("not supported by the drive, which refused it: %w", err)
		}
		return err
	}
	r.progress(0, false)
	return r.poll(r.scsiSanitizeProgress)
}

// scsiSanitizeProgress reads the progress of a running SCSI sanitize for poll: Sanitize
// and ResumeSanitize follow it alike.
func (r *firmwareRun) scsiSanitizeProgress() (float64, bool, error) {
	s, err := r.requestSense()
	switch {
	case err != nil:
		return 0, false, err
	case sanitizeInProgress(s):
		if p, ok := s.Progress(); ok {
			return p, false, nil
		}
		return -1, false, nil
	case sanitizeFailedSense(s):
		return 0, false, errors.New("the drive reports that the sanitize failed (SANITIZE COMMAND FAILED)")
	case s.Key == scsi.NoSense && !s.Deferred():
		return 1, true, nil
	}
	return 0, false, fmt.Errorf("unexpected answer to REQUEST SENSE while sanitizing: %s", s)
}

// sanitizeFailedSense: MEDIUM ERROR, SANITIZE COMMAND FAILED, which a drive answers from
// a failed sanitize until one succeeds (SBC-4 §4.11).
func sanitizeFailedSense(s scsi.Sense) bool {
	return s.Key == scsi.MediumError && s.ASC == 0x31 && s.ASCQ == 0x03
}
