// Package certificates holds decom's certificate of sanitization: its content (the
// fields NIST SP 800-88 asks of a certificate, Rev. 1 §4.8 and Appendix G, and the
// evidence behind them), its signing as an in-toto Statement in a DSSE envelope written
// as a Sigstore bundle, its verification, and its rendering as a one-page PDF.
//
// A Certificate is built from a wipe's record and its verification results (New); its
// Status says whether it certifies anything: only a sanitized drive gets a certificate
// of sanitization, a failed or aborted wipe gets a signed record of that.
package certificates
