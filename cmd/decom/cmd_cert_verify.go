package main

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/registry"
)

type certVerifyOptions struct {
	certKeyOptions
	// Registry, when set, is the registry whose log must hold each certificate.
	Registry string
	LogKey   string
	// Token is a registry token with the read scope, for a registry that does not
	// serve reads to anyone.
	Token string
	// Skew is how far issued may lie from the logged time before it is flagged.
	Skew registry.SkewLimits
}

func (o *certVerifyOptions) AddFlags(f *pflag.FlagSet) {
	o.certKeyOptions.AddFlags(f, true)
	f.StringVar(&o.Registry, "registry", "", "also check that the registry's transparency log holds each certificate, consistently with earlier checks")
	f.StringVar(&o.LogKey, "log-key", "", "the registry's log verifier key (default: pinned at the first check)")
	f.StringVar(&o.Token, "token", "", "with --registry: an API token with the read scope, unless the registry serves reads to anyone (DECOM_REGISTRY_TOKEN)")
	addSkewFlags(f, &o.Skew)
}

func newCertVerifyCommand(g *globalOptions) *cobra.Command {
	var opts certVerifyOptions
	cmd := &cobra.Command{
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
		RunE: func(cmd *cobra.Command, args []string) error { return runCertVerify(cmd.Context(), opts, g, args) },
	}
	opts.AddFlags(cmd.Flags())
	return cmd
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
	// Subjects are all the statement's subjects, Subject first.
	Subjects []string `json:"subjects,omitempty"`
	// Certificate is true for a certificate of sanitization (possibly with
	// exceptions), false for a record of an unverified, failed or aborted one.
	Certificate bool `json:"certificate_of_sanitization"`
	// Note is what keeps the document from certifying a sanitization, if anything.
	Note        string `json:"note,omitempty"`
	Fingerprint string `json:"key_fingerprint,omitempty"`
	Registry    string `json:"registry,omitempty"`
	// Logged and Clock come with --registry: what the registry's signed logged
	// time proved, and issued compared with it.
	Logged string               `json:"logged,omitempty"`
	Clock  *registry.ClockCheck `json:"clock,omitempty"`
}

func runCertVerify(ctx context.Context, opts certVerifyOptions, g *globalOptions, files []string) error {
	if len(opts.Keys) == 0 {
		return usageErrorf("--key is required: the public key(s) the certificates must be signed with")
	}
	keys, err := opts.trusted()
	if err != nil {
		return err
	}
	if err := checkSkewFlags(opts.Skew); err != nil {
		return err
	}
	var firstErr error
	var results []certResult
	for _, f := range files {
		r := certResult{File: f}
		v, err := verifyFile(f, keys)
		if err == nil && opts.Registry != "" {
			var audit registry.Audit
			audit, err = checkFileInRegistry(ctx, opts, f, v)
			if err == nil {
				r.Registry = registryLine(audit)
				r.Logged, r.Clock = loggedLines(audit, v.Certificate.Issued, opts.Skew)
			}
		}
		if err != nil {
			r.Error = err.Error()
			if firstErr == nil {
				firstErr = err
			}
		} else {
			r.Valid, r.ID, r.Status, r.Outcome = true, v.Certificate.ID, v.Certificate.Status, v.Certificate.Outcome
			r.Subject, r.Subjects, r.Fingerprint = v.SubjectName, v.Subjects, v.KeyFingerprint
			r.Certificate, r.Note = v.Certificate.IsCertificate(), v.Certificate.Caveat()
		}
		results = append(results, r)
		if g.Output != outputJSON {
			writeCertSummary(g.stdout, f, v, err)
			if r.Registry != "" {
				fmt.Fprintf(g.stdout, "  Registry:       %s\n", r.Registry)
				fmt.Fprintf(g.stdout, "  Logged:         %s\n", r.Logged)
			}
			if r.Clock != nil {
				fmt.Fprintf(g.stdout, "  Issued/logged:  %s\n", r.Clock.Note)
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

// checkFileInRegistry audits the registry for a verified certificate file.
func checkFileInRegistry(ctx context.Context, opts certVerifyOptions, path string, v *certificates.Verified) (registry.Audit, error) {
	bundle, err := readBundle(path)
	if err != nil {
		return registry.Audit{}, err
	}
	token := opts.Token
	if token == "" {
		token = os.Getenv("DECOM_REGISTRY_TOKEN")
	}
	a := registry.Auditor{Client: &registry.Client{URL: opts.Registry, Token: token}, StateDir: registry.DefaultStateDir(), LogKey: opts.LogKey}
	audit, err := a.Check(ctx, v.Certificate.ID, bundle)
	if err != nil {
		return registry.Audit{}, fmt.Errorf("%s: %w", path, err)
	}
	return audit, nil
}

// registryLine says in one line what an audit of the registry proved.
func registryLine(audit registry.Audit) string {
	msg := fmt.Sprintf("in the registry's log as entry %d of %d", audit.Receipt.LogIndex, audit.Checkpoint.Size)
	if audit.Previous != nil {
		msg += fmt.Sprintf("; consistent with the %d-entry log seen before", audit.Previous.Size)
	}
	return msg
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
	if len(v.Subjects) > 1 {
		fmt.Fprintf(tw, "  Also bound to:\t%s\n", strings.Join(v.Subjects[1:], ", "))
	}
	if s := c.DestructionSummary(); s != "" {
		fmt.Fprintf(tw, "  Destruction:\t%s\n", s)
	}
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
