package main

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/registry"
)

type certKeyOptions struct {
	Keys     []string
	registry registryOptions
	LogKey   string
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

func newCertCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cert",
		Short: "Verify, show and print certificates of sanitization",
		Args:  argsUsage(cobra.NoArgs),
	}
	var verifyOpts, showOpts, pdfOpts certKeyOptions
	var pdfOut string
	verifyCmd := &cobra.Command{
		Use:   "verify FILE...",
		Short: "Check that certificates are genuine, unaltered and well-formed",
		Long: `Checks each certificate (a Sigstore bundle written by decom wipe): its DSSE signature
against the trusted public keys, its payload and predicate types, and its schema. Any
change to any byte fails it. Prints a one-screen summary per certificate.

A signed record of an unverified, failed or aborted sanitization is genuine too: it
verifies (exit code 0), and the summary says that it is NOT a certificate of
sanitization, and why; with --output json, "certificate_of_sanitization" is false.
Certificates of schema 1 (earlier decom versions) still verify; one issued without
reading the media back says so in a note.

` + exitCodeHelp,
		Args: argsUsage(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCertVerify(cmd.Context(), verifyOpts, g, args)
		},
	}
	verifyOpts.AddFlags(verifyCmd.Flags(), true)
	verifyCmd.Flags().StringVar(&verifyOpts.registry.URL, "registry", "", "also check that the registry's transparency log holds each certificate, consistently with earlier checks")
	verifyCmd.Flags().StringVar(&verifyOpts.LogKey, "log-key", "", "the registry's log verifier key (default: pinned at the first check)")
	showCmd := &cobra.Command{
		Use:   "show FILE",
		Short: "Show what a certificate says",
		Long: `Shows every field of a certificate, as a table or as JSON (the signed content). With
--key the signature is checked first; without it the output says it was not.

` + exitCodeHelp,
		Args: argsUsage(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error { return runCertShow(showOpts, g, args[0]) },
	}
	showOpts.AddFlags(showCmd.Flags(), false)
	pdfCmd := &cobra.Command{
		Use:   "pdf FILE",
		Short: "Print a certificate as a one-page PDF",
		Long: `Renders a certificate as a one-page PDF laid out like NIST SP 800-88's sample
certificate, with the signer's key fingerprint, the certificate ID and a QR code that
identifies it. The signed JSON stays the authoritative document. With --key the
signature is checked before anything is rendered.

` + exitCodeHelp,
		Args: argsUsage(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error { return runCertPDF(pdfOpts, g, args[0], pdfOut) },
	}
	pdfOpts.AddFlags(pdfCmd.Flags(), false)
	pdfCmd.Flags().StringVarP(&pdfOut, "out", "O", "", "the PDF file to write (default: FILE with .pdf)")
	var pushOpts registryOptions
	pushCmd := &cobra.Command{
		Use:   "push DIR",
		Short: "Upload the certificates of a directory the registry has not acknowledged",
		Long: `Uploads every certificate (*.sigstore.json) in DIR that has no receipt beside it, with
retries and backoff, and stores each receipt (log index, inclusion proof, checkpoint)
beside its certificate. Certificates that could not be uploaded stay for the next push.

` + exitCodeHelp,
		Args: argsUsage(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(g.Config)
			if err != nil {
				return err
			}
			pushOpts.apply(cmd.Flags(), cfg)
			return runCertPush(cmd.Context(), pushOpts, g, args[0])
		},
	}
	pushOpts.AddFlags(pushCmd.Flags())
	cmd.AddCommand(verifyCmd, showCmd, pdfCmd, pushCmd)
	return cmd
}

// readBundle reads a certificate file; a missing or unreadable file is bad input.
func readBundle(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, badInputf("%v", err)
	}
	return b, nil
}

// certResult is one line of decom cert verify's output.
type certResult struct {
	File    string `json:"file"`
	Valid   bool   `json:"valid"`
	Error   string `json:"error,omitempty"`
	ID      string `json:"id,omitempty"`
	Status  string `json:"status,omitempty"`
	Outcome string `json:"outcome,omitempty"`
	Subject string `json:"subject,omitempty"`
	// Certificate is true for a certificate of sanitization (possibly with
	// exceptions), false for a record of an unverified, failed or aborted one.
	Certificate bool `json:"certificate_of_sanitization"`
	// Note is what keeps the document from certifying a sanitization, if anything.
	Note        string `json:"note,omitempty"`
	Fingerprint string `json:"key_fingerprint,omitempty"`
	Registry    string `json:"registry,omitempty"`
}

func runCertVerify(ctx context.Context, opts certKeyOptions, g *globalOptions, files []string) error {
	if len(opts.Keys) == 0 {
		return usageErrorf("--key is required: the public key(s) the certificates must be signed with")
	}
	keys, err := opts.trusted()
	if err != nil {
		return err
	}
	var firstErr error
	var results []certResult
	for _, f := range files {
		r := certResult{File: f}
		v, err := verifyFile(f, keys)
		if err == nil && opts.registry.URL != "" {
			var msg string
			msg, err = checkFileInRegistry(ctx, opts, f, v)
			if err == nil {
				r.Registry = msg
			}
		}
		if err != nil {
			r.Error = err.Error()
			if firstErr == nil {
				firstErr = err
			}
		} else {
			r.Valid, r.ID, r.Status, r.Outcome = true, v.Certificate.ID, v.Certificate.Status, v.Certificate.Outcome
			r.Subject, r.Fingerprint = v.SubjectName, v.KeyFingerprint
			r.Certificate, r.Note = v.Certificate.IsCertificate(), v.Certificate.Caveat()
		}
		results = append(results, r)
		if g.Output != outputJSON {
			writeCertSummary(g.stdout, f, v, err)
			if r.Registry != "" {
				fmt.Fprintf(g.stdout, "  Registry:       %s\n", r.Registry)
			}
		}
	}
	if g.Output == outputJSON {
		if err := writeJSON(g.stdout, struct {
			Certificates []certResult `json:"certificates"`
		}{results}); err != nil {
			return err
		}
	}
	if firstErr != nil && len(files) > 1 {
		return fmt.Errorf("not every certificate verified; first failure: %w", firstErr)
	}
	return firstErr
}

func verifyFile(path string, keys []crypto.PublicKey) (*certificates.Verified, error) {
	b, err := readBundle(path)
	if err != nil {
		return nil, err
	}
	v, err := certificates.Verify(b, keys)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

func writeCertSummary(w io.Writer, path string, v *certificates.Verified, err error) {
	if err != nil {
		fmt.Fprintf(w, "%s: INVALID: %v\n", path, err)
		return
	}
	c := v.Certificate
	fmt.Fprintf(w, "%s: VALID — signature, types and schema check out\n", path)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  Document:\t%s\n", c.Title())
	if note := c.Caveat(); note != "" {
		if !c.IsCertificate() {
			note = "genuine and unaltered, but NOT a certificate of sanitization: " + note
		}
		fmt.Fprintf(tw, "  Note:\t%s\n", note)
	}
	fmt.Fprintf(tw, "  ID:\t%s\n", c.ID)
	fmt.Fprintf(tw, "  Signed by key:\t%s\n", v.KeyFingerprint)
	fmt.Fprintf(tw, "  Media:\t%s\n", mediaLine(c))
	fmt.Fprintf(tw, "  Subject:\t%s\n", v.SubjectName)
	fmt.Fprintf(tw, "  Sanitization:\t%s, %s (%s), %s\n", categoryShort(c.Sanitization.Category),
		c.Sanitization.Method, c.Sanitization.Technique, plural(len(c.Sanitization.Passes), "pass", "passes"))
	fmt.Fprintf(tw, "  Verification:\t%s\n", c.VerificationSummary())
	fmt.Fprintf(tw, "  Outcome:\t%s\n", c.Outcome)
	fmt.Fprintf(tw, "  Performed by:\t%s\n", personLine(c.PerformedBy))
	fmt.Fprintf(tw, "  Issued:\t%s\n", c.Issued.Format(time.RFC3339))
	tw.Flush()
}

// categoryShort is the NIST method type in the summary: "Clear", "Purge", or that
// none is claimed.
func categoryShort(cat string) string {
	switch cat {
	case certificates.CategoryNone:
		return "no NIST class"
	case "":
		return "NIST class not stated"
	}
	return strings.ToUpper(cat[:1]) + cat[1:]
}

func mediaLine(c *certificates.Certificate) string {
	m := c.Media
	parts := []string{}
	for _, s := range []string{m.Manufacturer, m.Model, "serial " + m.Serial, m.Path} {
		if s != "" && s != "serial " {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ") + ", " + humanSize(m.SizeBytes)
}

// verifyRequired says whether the method requires reading back; schema 1
// certificates did not say.
func verifyRequired(c *certificates.Certificate) string {
	switch {
	case c.SchemaVersion == certificates.SchemaVersion1:
		return "not stated (schema 1)"
	case c.Sanitization.VerifyRequired:
		return "yes, by the method"
	}
	return "no"
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

func runCertShow(opts certKeyOptions, g *globalOptions, path string) error {
	keys, err := opts.trusted()
	if err != nil {
		return err
	}
	c, fp, checked, err := loadCertificate(path, keys)
	if err != nil {
		return err
	}
	if g.Output == outputJSON {
		return writeJSON(g.stdout, struct {
			SignatureChecked bool                      `json:"signature_checked"`
			KeyFingerprint   string                    `json:"key_fingerprint"`
			Certificate      *certificates.Certificate `json:"certificate"`
		}{checked, fp, c})
	}
	return writeCertDetail(g.stdout, c, fp, checked)
}

func writeCertDetail(w io.Writer, c *certificates.Certificate, fp string, checked bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, dash(v)) }
	row("Document:", c.Title())
	if note := c.Caveat(); note != "" {
		row("Note:", note)
	}
	sig := "NOT CHECKED (give --key to check it); the key's hint: " + fp
	if checked {
		sig = "valid, key " + fp
	}
	row("Signature:", sig)
	row("ID:", c.ID)
	row("Issued:", c.Issued.Format(time.RFC3339))
	row("Outcome:", c.Outcome)
	row("Performed by:", personLine(c.PerformedBy))
	if c.ValidatedBy != nil {
		row("Validated by:", personLine(*c.ValidatedBy))
	}
	row("Organization:", c.Organization)
	row("Customer:", c.Customer)
	m := c.Media
	row("Media:", strings.TrimSpace(fmt.Sprintf("%s %s (%s, %s)", m.Manufacturer, m.Model, m.Kind, m.Path)))
	row("Serial:", m.Serial)
	row("WWN:", m.WWN)
	row("Firmware:", m.Firmware)
	row("Capacity:", fmt.Sprintf("%s (%d bytes), sectors %d/%d", humanSize(m.SizeBytes), m.SizeBytes, m.LogicalSectorSize, m.PhysicalSectorSize))
	row("Media type:", strings.TrimSpace(m.MediaType+" "+m.Transport))
	row("Asset number:", m.AssetNumber)
	row("Hidden areas:", m.HiddenAreas)
	row("Source host:", strings.TrimSpace(fmt.Sprintf("%s %s %s %s", c.Source.Hostname, c.Source.SystemVendor, c.Source.SystemProduct, c.Source.SystemSerial)))
	s := c.Sanitization
	row("Method type:", c.CategoryText())
	row("Technique:", s.Technique)
	row("Method:", fmt.Sprintf("%s — %s, %d round(s)", s.Method, s.MethodTitle, s.Rounds))
	row("Tool:", fmt.Sprintf("%s %s (commit %s)", s.Tool.Name, s.Tool.Version, s.Tool.Commit))
	row("Time:", fmt.Sprintf("%s to %s", s.Started.Format(time.RFC3339), s.Finished.Format(time.RFC3339)))
	row("Verification:", c.VerificationSummary())
	row("Verify required:", verifyRequired(c))
	row("Destination:", strings.TrimSpace(c.Destination.Kind+" "+c.Destination.Details))
	row("Data backed up:", c.DataBackedUp)
	row("Notes:", c.Notes)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nPasses:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tPATTERN\tWRITTEN\tCOMPLETED\tBAD RANGES")
	for _, p := range s.Passes {
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%v\t%d\n", p.Number, p.Pattern, humanSize(p.BytesWritten), p.Completed, len(p.BadRanges))
	}
	return tw.Flush()
}

func runCertPDF(opts certKeyOptions, g *globalOptions, path, out string) error {
	keys, err := opts.trusted()
	if err != nil {
		return err
	}
	c, fp, _, err := loadCertificate(path, keys)
	if err != nil {
		return err
	}
	if out == "" {
		out = strings.TrimSuffix(strings.TrimSuffix(path, ".json"), ".sigstore") + ".pdf"
	}
	var buf bytes.Buffer
	if err := certificates.WritePDF(&buf, c, fp, filepath.Base(path)); err != nil {
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

// checkFileInRegistry audits the registry for a verified certificate file and says
// in one line what that proved.
func checkFileInRegistry(ctx context.Context, opts certKeyOptions, path string, v *certificates.Verified) (string, error) {
	bundle, err := readBundle(path)
	if err != nil {
		return "", err
	}
	a := registry.Auditor{Client: opts.registry.client(), StateDir: registry.DefaultStateDir(), LogKey: opts.LogKey}
	audit, err := a.Check(ctx, v.Certificate.ID, bundle)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	msg := fmt.Sprintf("in the registry's log as entry %d of %d", audit.Receipt.LogIndex, audit.Checkpoint.Size)
	if audit.Previous != nil {
		msg += fmt.Sprintf("; consistent with the %d-entry log seen before", audit.Previous.Size)
	}
	return msg, nil
}

// pushAttempts is how often decom cert push tries each certificate while the
// registry does not answer.
const pushAttempts = 5

func runCertPush(ctx context.Context, o registryOptions, g *globalOptions, dir string) error {
	if o.URL == "" || o.Token == "" {
		return usageErrorf("--registry and --token (or DECOM_REGISTRY and DECOM_REGISTRY_TOKEN) are required")
	}
	pushed, err := o.client().Push(ctx, dir, pushAttempts, func(s registry.Sent) {
		if s.Err != nil {
			g.log.Warn().Str("certificate", s.File).Err(s.Err).Msg("not uploaded; it stays for the next push")
			return
		}
		g.log.Info().Str("certificate", s.File).Uint64("log_index", s.Receipt.LogIndex).Msg("uploaded")
	})
	var dirErr *registry.DirError
	switch {
	case errors.Is(err, filepath.ErrBadPattern):
		return usageErrorf("%v", err)
	case errors.As(err, &dirErr):
		return badInputf("%v", err)
	case err != nil:
		return err
	}
	fmt.Fprintf(g.stdout, "%d uploaded, %d waiting, %d certificates in %s\n", pushed.Uploaded, pushed.Waiting, pushed.Certificates, dir)
	return pushed.Err()
}
