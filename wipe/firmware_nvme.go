package wipe

import (
	"errors"
	"fmt"

	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/nvme"
)

// NVMe Format NVM and NVMe Sanitize, sent as NVMe admin commands.

func (r *firmwareRun) nvmeExec(name string, cmd *devio.NVMeAdminCommand) error {
	r.send(name)
	_, err := nvme.Exec(r.d.NVMe, cmd)
	return err
}

func (r *firmwareRun) nvmeController() (nvme.Controller, error) {
	cmd := nvme.Identify(nvme.CNSController, 0)
	if err := r.nvmeExec("Identify Controller", cmd); err != nil {
		return nvme.Controller{}, fmt.Errorf("reading the controller's capabilities: %w", err)
	}
	return nvme.ParseController(cmd.Data)
}

// nvmeOnlyNamespace refuses a command that reaches every namespace of the controller
// when the controller has others than the one to sanitize.
func (r *firmwareRun) nvmeOnlyNamespace(what string) error {
	cmd := nvme.Identify(nvme.CNSActiveNamespaces, 0)
	if err := r.nvmeExec("Identify Active Namespace List", cmd); err != nil {
		return fmt.Errorf("listing the controller's namespaces: %w", err)
	}
	ids, err := nvme.ParseNamespaceList(cmd.Data)
	if err != nil {
		return err
	}
	if len(ids) > 1 {
		return fmt.Errorf("the controller has %d namespaces, and %s erases all of them, not only namespace %d: decom erases only the drive it was asked to (delete the other namespaces first, or sanitize each with an overwrite)",
			len(ids), what, r.d.NSID)
	}
	return nil
}

// unsupported turns a controller's refusal of the command itself into an error naming
// the technique as unsupported.
func (r *firmwareRun) unsupported(err error) error {
	if errors.Is(err, nvme.ErrInvalidOpcode) || errors.Is(err, nvme.ErrInvalidField) || errors.Is(err, nvme.ErrInvalidFormat) {
		return fmt.Errorf("not supported by the controller, which refused it: %w", err)
	}
	return err
}

func (r *firmwareRun) nvmeFormat(ses nvme.SecureErase) error {
	if r.d.NSID == 0 || r.d.NSID == nvme.NSIDAll {
		return fmt.Errorf("namespace ID %#x: Format NVM is sent to one namespace", r.d.NSID)
	}
	c, err := r.nvmeController()
	if err != nil {
		return err
	}
	switch {
	case !c.FormatNVM:
		return errors.New("not supported by the controller: it has no Format NVM (OACS bit 1)")
	case ses == nvme.CryptographicErase && !c.Format.CryptoErase:
		return errors.New("not supported by the controller: its Format NVM has no cryptographic erase (FNA bit 2)")
	}
	if c.Format.AllNamespaces || c.Format.SecureEraseAllNamespaces {
		if err := r.nvmeOnlyNamespace("a secure-erase Format NVM on this controller (FNA)"); err != nil {
			return err
		}
	}

	// The format keeps the namespace as it is: its LBA format, metadata and protection
	// information settings (DPS, byte 29, which nvme.Namespace does not decode).
	cmd := nvme.Identify(nvme.CNSNamespace, r.d.NSID)
	if err := r.nvmeExec("Identify Namespace", cmd); err != nil {
		return fmt.Errorf("reading the namespace's format: %w", err)
	}
	ns, err := nvme.ParseNamespace(cmd.Data)
	if err != nil {
		return err
	}
	if ns.BlockSize == 0 {
		return fmt.Errorf("namespace %d is not active on the controller", r.d.NSID)
	}
	dps := cmd.Data[29]
	timeout := r.o.Timeout
	if timeout <= 0 {
		timeout = max(nvme.DefaultFormatTimeout, MinFirmwareTimeout)
	}
	f, err := nvme.FormatNVM(r.d.NSID, nvme.FormatOptions{
		LBAFormat:        uint8(ns.FormatIndex),
		SecureErase:      ses,
		ExtendedMetadata: ns.ExtendedLBA,
		ProtectionType:   dps & 0x07,
		ProtectionFirst:  dps&0x08 != 0,
		Timeout:          timeout,
	})
	if err != nil {
		return err
	}
	if err := r.ctx.Err(); err != nil {
		return fmt.Errorf("not started: %w", err)
	}
	name := map[nvme.SecureErase]string{nvme.UserDataErase: "Format NVM (user data erase)", nvme.CryptographicErase: "Format NVM (cryptographic erase)"}[ses]
	r.o.Logger.Info("Format NVM sent; the controller answers when it has formatted", "device", r.d.Path, "timeout", timeout)
	r.progress(0, false)
	if err := r.nvmeExec(name, f); err != nil {
		return r.unsupported(err)
	}
	r.progress(1, true)
	return nil
}

func (r *firmwareRun) nvmeSanitize(action nvme.SanitizeAction) error {
	c, err := r.nvmeController()
	if err != nil {
		return err
	}
	offered := map[nvme.SanitizeAction]bool{
		nvme.SanitizeCryptoErase: c.Sanitize.CryptoErase,
		nvme.SanitizeBlockErase:  c.Sanitize.BlockErase,
		nvme.SanitizeOverwrite:   c.Sanitize.Overwrite,
	}[action]
	if !offered {
		return fmt.Errorf("not supported by the controller (SANICAP %#x)", c.SANICAP)
	}
	if err := r.nvmeOnlyNamespace("Sanitize (which acts on the whole NVM subsystem)"); err != nil {
		return err
	}
	st, err := r.nvmeSanitizeStatus()
	switch {
	case err != nil:
		return fmt.Errorf("the controller's sanitize status cannot be read, so a sanitize could not be followed: %w", err)
	case st.State == nvme.SanitizeInProgress:
		return fmt.Errorf("a sanitize is already in progress on the controller (%.1f%%): let it finish, then try again", 100*st.Progress())
	}

	o := nvme.SanitizeOptions{Action: action}
	if action == nvme.SanitizeOverwrite {
		o.OverwritePasses = 1
	}
	cmd, err := nvme.Sanitize(o)
	if err != nil {
		return err
	}
	if err := r.ctx.Err(); err != nil {
		return fmt.Errorf("not started: %w", err)
	}
	if err := r.nvmeExec("Sanitize ("+action.String()+")", cmd); err != nil {
		return r.unsupported(err)
	}
	r.progress(0, false)
	return r.poll(func() (float64, bool, error) { return r.nvmeSanitizeProgress(action) })
}

// nvmeSanitizeProgress reads the progress of a running sanitize of kind action for poll:
// Sanitize and ResumeSanitize follow it alike.
func (r *firmwareRun) nvmeSanitizeProgress(action nvme.SanitizeAction) (float64, bool, error) {
	st, err := r.nvmeSanitizeStatus()
	switch {
	case err != nil:
		return 0, false, fmt.Errorf("reading the sanitize status: %w", err)
	case st.State == nvme.SanitizeInProgress:
		return st.Progress(), false, nil
	case st.State.Succeeded() && otherSanitize(st, action):
		// The log describes the most recent sanitize: not this one, which never ran.
		return 0, false, fmt.Errorf("the controller reports a completed sanitize, but of another kind (%s): the %s decom started never ran",
			nvme.SanitizeAction(st.CDW10&0x7), action)
	case st.State.Succeeded():
		return 1, true, nil
	case st.State == nvme.SanitizeFailed:
		return 0, false, errors.New("the controller reports that the sanitize failed")
	}
	return 0, false, fmt.Errorf("the controller reports no sanitize in progress and none completed (%s)", st.State)
}

// otherSanitize reports whether the Sanitize Status log names a sanitize action other
// than action as the most recent (a controller that leaves SCDW10 zero names none).
func otherSanitize(st nvme.SanitizeStatus, action nvme.SanitizeAction) bool {
	return st.CDW10&0x7 != 0 && nvme.SanitizeAction(st.CDW10&0x7) != action
}

func (r *firmwareRun) nvmeSanitizeStatus() (nvme.SanitizeStatus, error) {
	r.send("Get Log Page (Sanitize Status)")
	return nvme.ReadSanitizeStatus(r.d.NVMe)
}
