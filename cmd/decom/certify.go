package main

import (
	"context"
	"os"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
)

// newCertifier checks the certificate settings, unlocks the signing key and makes
// the certificate directory.
func newCertifier(ctx context.Context, g *globalOptions, o certOptions, ro registryOptions,
	passphrase func() ([]byte, error)) (*sanitize.Certifier, error) {
	d, err := o.details()
	if err != nil {
		return nil, err
	}
	if o.Key == "" {
		return nil, usageErrorf("a signing key is needed for the certificate: --key, DECOM_KEY or key: in the config file (decom keys generate makes one); --no-certificate wipes without")
	}
	signer, err := certificates.LoadSigner(ctx, o.Key, passphrase)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.CertDir, 0o755); err != nil {
		return nil, badInputf("certificate directory: %v", err)
	}
	v := currentVersion()
	c := &sanitize.Certifier{Signer: signer, Details: d, Dir: o.CertDir, PDF: o.PDF, Job: o.Job,
		Host: inventory.ReadHost(inventory.Options{Root: g.SysRoot}),
		Tool: certificates.Tool{Name: "decom", Version: v.Version, Commit: v.Commit}}
	if ro.URL != "" {
		if ro.Token == "" {
			return nil, usageErrorf("--registry needs --token (or DECOM_REGISTRY_TOKEN)")
		}
		c.Registry = ro.client()
	}
	return c, nil
}
