package main

import (
	"bytes"
	"fmt"
	"os"

	"golang.org/x/term"
)

// passphraseEnv holds a key's passphrase for automation.
const passphraseEnv = "DECOM_KEY_PASSWORD"

// passphrase returns a key's passphrase: from DECOM_KEY_PASSWORD, else asked at the
// terminal (twice when confirm is set, for a new key). Without either it fails
// rather than wait for input that cannot come.
func (g *globalOptions) passphrase(prompt string, confirm bool) ([]byte, error) {
	if v, ok := os.LookupEnv(passphraseEnv); ok {
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
	if confirm {
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
