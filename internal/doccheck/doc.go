// Package doccheck holds one test: every Go code block in a package's doc comment is
// code that one of the package's Example functions compiles. The examples keep the code
// compiling (go vet, go test); this test keeps the doc comments quoting them, so that a
// snippet changed in one place and not the other fails the build's tests.
//
// A block is Go when it parses as statements or as declarations; other blocks (shell
// commands, kernel command lines, console output) are not checked. Every non-blank line
// of a Go block must appear, as a whole line (indentation aside), in one of the
// package's _test.go files that holds an Example function.
//
// The package holds only the test; this file documents it.
package doccheck
