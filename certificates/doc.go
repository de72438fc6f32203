// Package certificates will hold the certificate of sanitization model, its signing and
// verification through sigstore, PDF rendering and spooling. Nothing is implemented yet.
package certificates
