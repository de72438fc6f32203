package main

import (
	"crypto"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/decom-project/decom/certificates"
)

// decom cert: one file per subcommand (cmd_cert_verify.go, cmd_cert_show.go,
// cmd_cert_pdf.go, cmd_cert_push.go); this file holds the group and what its
// subcommands share: the --key flag and reading certificate files.

func newCertCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cert",
		Short: "Verify, show and print certificates of sanitization",
		Args:  argsUsage(cobra.NoArgs),
	}
	cmd.AddCommand(newCertVerifyCommand(g), newCertShowCommand(g), newCertPDFCommand(g), newCertPushCommand(g),
		newCertDestroyCommand(g))
	return cmd
}

// certKeyOptions name the public keys a certificate is checked with.
type certKeyOptions struct {
	Keys []string
}

func (o *certKeyOptions) AddFlags(f *pflag.FlagSet, required bool) {
	what := "public key(s) to verify with: a .pub file or a directory of them (repeatable)"
	if !required {
		what += "; without it the signature is not checked"
	}
	f.StringArrayVar(&o.Keys, "key", nil, what)
}

// trusted loads the public keys given with --key.
func (o certKeyOptions) trusted() ([]crypto.PublicKey, error) {
	if len(o.Keys) == 0 {
		return nil, nil
	}
	keys, err := certificates.LoadPublicKeys(o.Keys...)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, badInputf("--key %s: no public keys there", strings.Join(o.Keys, ", "))
	}
	return keys, nil
}

// readBundle reads a certificate file; a missing or unreadable file is bad input.
func readBundle(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, badInputf("%v", err)
	}
	return b, nil
}

// loadCertificate reads a certificate, verified when keys are given, else only
// parsed; checked says which.
func loadCertificate(path string, keys []crypto.PublicKey) (c *certificates.Certificate, fingerprint string, checked bool, err error) {
	b, err := readBundle(path)
	if err != nil {
		return nil, "", false, err
	}
	if len(keys) > 0 {
		v, err := certificates.Verify(b, keys)
		if err != nil {
			return nil, "", false, fmt.Errorf("%s: %w", path, err)
		}
		return v.Certificate, v.KeyFingerprint, true, nil
	}
	c, hint, err := certificates.Inspect(b)
	if err != nil {
		return nil, "", false, fmt.Errorf("%s: %w", path, err)
	}
	return c, hint, false, nil
}

func personLine(p certificates.Person) string {
	parts := []string{p.Name}
	for _, s := range []string{p.Title, p.Organization, p.Location, p.Contact} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}
