package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/decom-project/decom/certificates"
)

type keysGenerateOptions struct {
	Out   string
	Type  string
	Force bool
}

func (o *keysGenerateOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Out, "out", "decom", "write PREFIX.key (encrypted private key) and PREFIX.pub")
	f.StringVar(&o.Type, "type", certificates.KeyECDSAP256, "key type: ecdsa-p256 or ed25519")
	f.BoolVar(&o.Force, "force", false, "overwrite existing key files")
}

func newKeysCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the keys that sign certificates",
		Args:  argsUsage(cobra.NoArgs),
	}
	var opts keysGenerateOptions
	gen := &cobra.Command{
		Use:   "generate",
		Short: "Create a signing key pair",
		Long: `Creates a key pair for signing certificates: PREFIX.key, the private key encrypted
with a passphrase (asked at the terminal, or taken from DECOM_KEY_PASSWORD), in the
format cosign uses, and PREFIX.pub, the public key auditors verify with.

` + exitCodeHelp,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error { return runKeysGenerate(opts, g) },
	}
	opts.AddFlags(gen.Flags())
	cmd.AddCommand(gen)
	return cmd
}

func runKeysGenerate(opts keysGenerateOptions, g *globalOptions) error {
	if opts.Type != certificates.KeyECDSAP256 && opts.Type != certificates.KeyEd25519 {
		return usageErrorf("--type %q: want ecdsa-p256 or ed25519", opts.Type)
	}
	keyPath, pubPath := opts.Out+".key", opts.Out+".pub"
	if !opts.Force {
		for _, p := range []string{keyPath, pubPath} {
			if _, err := os.Stat(p); err == nil {
				return usageErrorf("%s exists: choose another --out, or --force to replace it", p)
			}
		}
	}
	pass, err := g.passphrase("Passphrase for the new key", true)
	if err != nil {
		return err
	}
	priv, pub, err := certificates.GenerateKey(opts.Type, pass)
	if err != nil {
		return err
	}
	dir := filepath.Dir(keyPath)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if _, err := certificates.WriteFileAtomic(dir, filepath.Base(keyPath), priv, 0o600); err != nil {
		return err
	}
	if _, err := certificates.WriteFileAtomic(dir, filepath.Base(pubPath), pub, 0o644); err != nil {
		return err
	}
	keys, err := certificates.LoadPublicKeys(pubPath)
	if err != nil {
		return err
	}
	fp := certificates.Fingerprint(keys[0])
	if g.Output == outputJSON {
		return writeJSON(g.stdout, struct {
			PrivateKey  string `json:"private_key"`
			PublicKey   string `json:"public_key"`
			Type        string `json:"type"`
			Fingerprint string `json:"fingerprint"`
		}{keyPath, pubPath, opts.Type, fp})
	}
	_, err = fmt.Fprintf(g.stdout, "Private key: %s (encrypted)\nPublic key:  %s\nFingerprint: %s\n", keyPath, pubPath, fp)
	return err
}
