package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/decom-project/decom/certificates"
)

type certPDFOptions struct {
	certKeyOptions
	// Out is the PDF file to write; empty means the certificate's name with .pdf.
	Out string
}

func (o *certPDFOptions) AddFlags(f *pflag.FlagSet) {
	o.certKeyOptions.AddFlags(f, false)
	f.StringVarP(&o.Out, "out", "O", "", "the PDF file to write (default: FILE with .pdf)")
}

func newCertPDFCommand(g *globalOptions) *cobra.Command {
	var opts certPDFOptions
	cmd := &cobra.Command{
		Use:   "pdf FILE",
		Short: "Print a certificate as a one-page PDF",
		Long: `Renders a certificate as a one-page PDF laid out like NIST SP 800-88's sample
certificate, with the signer's key fingerprint, the certificate ID and a QR code that
identifies it. The signed JSON stays the authoritative document. With --key the
signature is checked before anything is rendered.

` + exitCodeHelp,
		Args: argsUsage(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error { return runCertPDF(opts, g, args[0]) },
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runCertPDF(opts certPDFOptions, g *globalOptions, path string) error {
	keys, err := opts.trusted()
	if err != nil {
		return err
	}
	c, fp, _, err := loadCertificate(path, keys)
	if err != nil {
		return err
	}
	out := opts.Out
	if out == "" {
		out = strings.TrimSuffix(strings.TrimSuffix(path, ".json"), ".sigstore") + ".pdf"
	}
	var buf bytes.Buffer
	if err := certificates.WritePDF(&buf, c, fp, filepath.Base(path), ""); err != nil {
		return err
	}
	dir, name := filepath.Split(out)
	if dir == "" {
		dir = "."
	}
	written, err := certificates.WriteFileAtomic(dir, name, buf.Bytes(), 0o644)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(g.stdout, written)
	return err
}
