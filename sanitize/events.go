package sanitize

import (
	"github.com/decom-project/decom/registry"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

// Event is one thing a run reports: a *Planned, *PassStarted, *Progress,
// *VerifyProgress, *PassFinished, *Stalled, *CertificateWritten, *Uploaded, *Finished
// or *Done. Options.Events receives them one at a time, in the order they happened
// for each target.
type Event interface{ event() }

// Planned is the run's plan, before anything is confirmed or written: every target
// with its plan or refusal, and with Options.All the devices left out.
type Planned struct {
	// Write is the pass sequence of the method (empty for nist-purge: per drive).
	Write   wipe.PassPlan
	Plans   []Plan
	LeftOut []LeftOut
}

// PassStarted: a target begins an overwrite pass.
type PassStarted struct {
	Device  string
	Pass    int // 1-based
	Passes  int
	Pattern wipe.Pattern
}

// Progress of a pass (or of a firmware sanitize).
type Progress struct{ wipe.Event }

// VerifyProgress of reading back pass Pass of Device.
type VerifyProgress struct {
	Device string `json:"device"`
	Pass   int    `json:"pass"`
	verify.Event
}

// PassFinished: a pass ran to its end and was flushed.
type PassFinished struct {
	Device string
	Pass   wipe.PassRecord
}

// Stalled: a target has answered no write or read for the stall timeout.
type Stalled struct{ wipe.Stall }

// CertificateWritten: a target's signed certificate (or record) is on disk.
type CertificateWritten struct {
	Device string
	Path   string
	ID     string
	// Status says what the document is: a certificate of sanitization, or a
	// record of an unverified, failed or aborted one.
	Status string
	PDF    string // "" without a PDF
}

// Uploaded says what became of a certificate's upload: the registry's receipt,
// or why it waits in the certificate directory (Err).
type Uploaded struct {
	Device      string
	Certificate string
	Receipt     *registry.Receipt
	Err         error
}

// Finished: a target is done and certified; its result is final.
type Finished struct{ Result Result }

// Done: every target is finished.
type Done struct{ Results []Result }

func (*Planned) event()            {}
func (*PassStarted) event()        {}
func (*Progress) event()           {}
func (*VerifyProgress) event()     {}
func (*PassFinished) event()       {}
func (*Stalled) event()            {}
func (*CertificateWritten) event() {}
func (*Uploaded) event()           {}
func (*Finished) event()           {}
func (*Done) event()               {}
