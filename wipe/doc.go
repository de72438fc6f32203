// Package wipe overwrites drives, partitions and image files, and is the only part of
// decom that writes to them.
//
// A wipe starts at the Gate: Check decides from the inventory whether a target may be
// wiped at all (nothing mounted, no swap, no holders, not the running system's disk,
// not read-only) and Open, right before the first write, checks it all again, compares
// the target's identity with the plan (device number, serial, WWN, model, size, a
// loop device's backing file, an image file's inode) and opens it exclusively.
//
// Overwrite then runs a Plan — a Method from the catalogue (Methods, LookupMethod) or
// a custom pass list (ParsePasses), repeated and optionally blanked — over the opened
// Device: O_DIRECT with aligned buffers and several writes in flight, buffered with
// periodic fdatasync where O_DIRECT is refused, a cache flush after each pass. Random
// passes are AES-256-CTR keystreams keyed per pass; Stream regenerates the bytes of any
// pass at any offset, which is how package verify checks them. Write errors are
// retried, then narrowed down to the bad sectors, which are skipped and recorded.
//
// The Record says what happened, pass by pass; it is the evidence a certificate is
// made from.
package wipe
