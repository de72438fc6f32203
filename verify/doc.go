// Package verify will read media back after a wipe: NIST-style sampling, full reads
// and pattern regeneration. Nothing is implemented yet.
package verify
