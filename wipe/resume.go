package wipe

import (
	"fmt"
	"time"
)

// Resume continues a wipe that was interrupted (a power cut, a crash, a kill): the
// passes before Pass were written and flushed in full, and so was every byte of pass
// Pass below Offset. The engine writes the rest of pass Pass and the passes after it;
// what it continues from is what a journal of Checkpoints recorded.
type Resume struct {
	// Done are the records of the passes before Pass, as they were written then.
	Done []PassRecord
	// Pass is the pass to continue (from 1); past the last pass, every pass is done.
	Pass int
	// Offset is where pass Pass continues: every byte below it is on the medium. The
	// engine starts at the block boundary at or below it.
	Offset int64
	// Keys regenerate pass Pass's bytes when it is random: the ones it began with.
	Keys *Keys
	// Bad are the ranges of pass Pass below Offset that could not be written.
	Bad []Range
	// AfterPass asks for the AfterPass step of the last pass of Done again (its
	// read-back did not finish before the interruption).
	AfterPass bool
}

// Checkpoint is durable progress of a wipe: every byte of pass Pass below Offset was
// written and a flush that covered those writes returned, so that a power cut loses
// none of it. The engine reports one as each pass begins (before its first write:
// Offset is where it starts, Keys are its keys), every CheckpointInterval while it
// runs, and when the pass has completed and been flushed (Completed).
type Checkpoint struct {
	Pass    int
	Pattern Pattern
	Keys    *Keys
	Offset  int64
	// Bad are the unwritable ranges below Offset found so far in this pass.
	Bad       []Range
	Completed bool
	// Record is the pass's record, when Completed.
	Record *PassRecord
	At     time.Time
}

// DefaultCheckpointInterval is how often a running pass is flushed and checkpointed
// when Options.Checkpoint is set and CheckpointInterval is not.
const DefaultCheckpointInterval = 5 * time.Second

// Interruption is a time a wipe stopped without an orderly end and was resumed.
type Interruption struct {
	// Pass and Offset are where the wipe continued: every byte of the pass below
	// Offset had been written and flushed before the interruption.
	Pass   int   `json:"pass"`
	Offset int64 `json:"offset"`
	// LastCheckpoint is the last time the interrupted run recorded its progress: the
	// interruption came after it.
	LastCheckpoint time.Time `json:"last_checkpoint"`
	// Resumed is when the wipe was continued.
	Resumed time.Time `json:"resumed"`
}

// check says whether r can continue a wipe of passes over size bytes.
func (r *Resume) check(passes []Pattern, size int64) error {
	switch {
	case r.Pass < 1 || r.Pass > len(passes)+1:
		return fmt.Errorf("resume at pass %d of %d", r.Pass, len(passes))
	case len(r.Done) != r.Pass-1:
		return fmt.Errorf("resume at pass %d with %d passes done", r.Pass, len(r.Done))
	case r.Offset < 0 || r.Offset > size:
		return fmt.Errorf("resume at offset %d of a %d-byte target", r.Offset, size)
	case r.AfterPass && len(r.Done) == 0:
		return fmt.Errorf("resume asks for the step after a pass, but no pass is done")
	}
	for i, d := range r.Done {
		if d.Number != i+1 || !samePattern(d.Pattern, passes[i]) || !d.Completed {
			return fmt.Errorf("resume: pass %d done is not the method's pass %d, completed", d.Number, i+1)
		}
	}
	if r.Pass <= len(passes) && passes[r.Pass-1].Kind == KindRandom && r.Offset > 0 && r.Keys == nil {
		return fmt.Errorf("resume of random pass %d needs its keys", r.Pass)
	}
	return nil
}
