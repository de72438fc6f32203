// Package loadtest holds the end-to-end tests of the central registry run as a real process:
// `decom registry serve` (built once by TestMain) on a free loopback port with its own data
// directory, driven over HTTP the way agents and auditors drive it, and killed when a test ends.
//
//   - TestLoad: agents upload distinct signed certificates, then look them up with proofs. Every
//     receipt is verified client-side, and the log must hold each certificate once. Plain
//     `go test` runs a short version (2,000 uploads) that checks correctness only; with
//     DECOM_LOAD_FULL=1 it uploads 20,000 (within 120 s) and reports certificates/s, latency
//     and lookups/s against the targets, in the test log and in a Markdown snippet
//     (DECOM_LOAD_REPORT names the file). Throughput is measured, never asserted.
//   - TestCrash: the server is killed (SIGKILL) in the middle of uploads and restarted on the
//     same data; every acknowledged certificate must still be there, provable, once, in a log
//     consistent with what was served before, and the uploads the crash cut short can be made
//     again.
//   - TestBadInput: tokens, keys, tampered and malformed bundles, oversized bodies, hostile
//     searches and path traversal against the log's tiles, each with its expected status.
//   - BenchmarkUpload, BenchmarkProofLookup: the same measurements under `go test -bench`;
//     BenchmarkUploadInProcess and BenchmarkProofLookupInProcess serve the registry from the
//     test process instead, for -cpuprofile and -trace, and split an upload's time between the
//     store and the rest.
//
// How uploads arrive: DECOM_LOAD_AGENTS agents (default 64) each upload and wait for the answer
// (closed loop), or, with DECOM_LOAD_RATE=N, uploads start N per second whatever the latency, as
// independent machines send them (open loop, up to DECOM_LOAD_AGENTS in flight, default 512).
// DECOM_LOAD_LOG_LEVEL sets the server's --log-level (default info: every request logged).
//
//	DECOM_LOAD_FULL=1 DECOM_LOAD_REPORT=load.md go test -count=1 -run TestLoad -v ./registry/loadtest/
//	DECOM_LOAD_FULL=1 DECOM_LOAD_RATE=1000 go test -count=1 -run TestLoad -v ./registry/loadtest/
//
// The package holds only tests; this file documents it.
package loadtest
