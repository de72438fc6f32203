// Package verify reads media back to prove what a wipe left on them.
//
// Run compares a device (any io.ReaderAt) with an Expectation — a wipe pass's pattern,
// including random passes, whose AES-CTR keystream is regenerated at exactly the
// offsets read, or a pattern file — either in full or by sampling. Sampling follows
// NIST SP 800-88's advice for representative verification: the device is split into
// at least 1,000 equal subsections, at least two non-overlapping pseudo-random blocks
// are read in each, and the first and last addressable blocks are always read. The
// sampling seed is recorded in the Result, and Locations turns a seed back into the
// same blocks, so anyone can repeat a verification later.
//
// Any mismatch or unreadable block fails a verification; a failed verification is never
// reported as verified. Nothing in this package writes to a device.
package verify
