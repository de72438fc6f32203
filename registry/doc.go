// Package registry is decom's central registry: the HTTP server that collects signed
// certificates from every agent, keeps them in a store (SQLite or PostgreSQL) and in an
// append-only transparency log (registry/tlog), and serves them to auditors — as JSON,
// with inclusion and consistency proofs, and as server-rendered pages.
//
// A certificate is accepted only with a valid API token and only when it verifies with
// a key enrolled with the registry. Acknowledgement comes after the certificate is both
// stored and integrated in a published checkpoint, so an acknowledged upload survives a
// crash; Recover re-submits to the log whatever was stored but not yet integrated.
//
// Revoking a key keeps history: every certificate shown (its page, GET
// /api/v1/certificates/{id}, both searches) carries the same validity, judged by the
// time the registry received it against the revocation's effective time, with the
// revocation's reason (see ValidityValid and the other Validity values).
package registry
