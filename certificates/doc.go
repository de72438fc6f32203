// Package certificates holds decom's certificate of sanitization: its content (the
// fields NIST SP 800-88 asks of a certificate, Rev. 1 §4.8 and Appendix G, and the
// evidence behind them), its signing as an in-toto Statement in a DSSE envelope written
// as a Sigstore bundle, its verification, and its rendering as a one-page PDF.
//
// A Certificate is built from a wipe's record and its verification results by package
// sanitize (sanitize.NewCertificate): this package knows no drive code, so the
// registry, which stands on it, links none. Its Status (StatusFor) says whether it
// certifies anything: only a drive that was sanitized and read
// back gets a certificate of sanitization; a wipe that nobody read back, whatever its
// method, gets a signed record of unverified sanitization, and a failed or aborted wipe
// a signed record of that.
//
// The JSON schema has versions (SchemaVersion): decom writes version 2, in which 64-bit
// values that are not byte counts (the sampling seed) are decimal strings, exact in
// any JSON reader; Verify still accepts version 1 certificates, with numeric seeds.
// Sizes and byte counts stay JSON numbers: below 2^53 (8 PiB) they are exact in every
// reader.
package certificates
