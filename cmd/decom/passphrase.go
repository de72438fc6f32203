package main

import (
	"bytes"
	"fmt"
	"os"

	"golang.org/x/term"
)

// passphraseEnv holds a key's passphrase for automation.
const passphraseEnv = "DECOM_KEY_PASSWORD"

// errEmptyPassphrase refuses an empty passphrase for a new key: the key would be
// announced as encrypted and open for anyone.
var errEmptyPassphrase = badInputf("an empty passphrase would leave the key unprotected: give one (at the terminal or in %s), or use --unencrypted to write an unencrypted key knowingly", passphraseEnv)

// passphrase returns a key's passphrase: from DECOM_KEY_PASSWORD, else asked at the
// terminal. For a new key (newKey) it is asked twice, and an empty one is refused
// wherever it comes from. Without either source it fails rather than wait for input
// that cannot come.
func (g *globalOptions) passphrase(prompt string, newKey bool) ([]byte, error) {
	if v, ok := os.LookupEnv(passphraseEnv); ok {
		if newKey && v == "" {
			return nil, errEmptyPassphrase
		}
		return []byte(v), nil
	}
	in, ok := g.stdin.(interface{ Fd() uintptr })
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return nil, badInputf("a passphrase is needed: set %s or run at a terminal", passphraseEnv)
	}
	read := func(p string) ([]byte, error) {
		fmt.Fprint(g.stderr, p)
		b, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(g.stderr)
		return b, err
	}
	first, err := read(prompt + ": ")
	if err != nil {
		return nil, err
	}
	if newKey && len(first) == 0 {
		return nil, errEmptyPassphrase
	}
	if newKey {
		again, err := read("Again: ")
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(first, again) {
			return nil, badInputf("the passphrases differ")
		}
	}
	return first, nil
}
