// Package sanitize runs one sanitization of a set of targets, under every front end:
// the decom command, the boot agent, and whatever comes next. Front ends choose the
// targets and the method, supply a confirmation callback, and listen to one typed
// event stream; the package never prints.
//
// A run goes through these steps, each target on its own from the plan on:
//
//  1. Check: every target passes the safety gate's first check (wipe.Gate.Check);
//     with Options.All the targets are the physical, non-removable drives the
//     inventory marks wipeable, and the devices left out are reported with why.
//  2. Plan: nist-purge and nist-clear ask the planner (wipe.Choose) for each drive's
//     technique; a drive on which the method's class cannot be reached is refused,
//     never given a weaker technique. The Planned event carries every plan.
//  3. Confirm: Options.Confirm sees the plans and returns those a person (or the
//     automation's approval) accepted; a run with any refused target is not
//     confirmed at all.
//  4. Sanitize: all targets in parallel, each opened through the gate (exclusive,
//     locked, identity compared with the plan): an overwrite with the method's
//     passes, or the drive's own sanitize command.
//  5. Read back: sampled or full, through a read-only descriptor of the very device.
//  6. Certify: the outcome follows from the evidence (NewCertificate); the
//     certificate (or record) is signed, written atomically, rendered as PDF and
//     uploaded, the moment its target is done.
//
// Run returns a Result per target and an error whose kind says the most severe
// outcome (ErrWipeFailed, ErrVerifyFailed, ErrExceptions, wipe.ErrRefused,
// context.Canceled); front ends turn it into exit codes.
package sanitize
