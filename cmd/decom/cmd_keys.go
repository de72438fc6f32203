package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/decom-project/decom/certificates"
)

type keysGenerateOptions struct {
	Out         string
	Type        string
	Force       bool
	Unencrypted bool
}

func (o *keysGenerateOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Out, "out", "decom", "write PREFIX.key (encrypted private key) and PREFIX.pub")
	f.StringVar(&o.Type, "type", certificates.KeyECDSAP256, "key type: ecdsa-p256 or ed25519")
	f.BoolVar(&o.Force, "force", false, "overwrite existing key files")
	f.BoolVar(&o.Unencrypted, "unencrypted", false, "write the private key unencrypted, as PREFIX.unencrypted.key (mode 0600), and ask no passphrase")
}

// Private key file names: an unencrypted key says so in its name.
const (
	keySuffix            = ".key"
	unencryptedKeySuffix = ".unencrypted.key"
)

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

An empty passphrase is refused (exit code 9): the key would be announced as
encrypted while anyone could open it. To sign without a passphrase (a lab, a
key kept in a safe place), say so: --unencrypted writes PREFIX.unencrypted.key,
plain PKCS #8 PEM ("PRIVATE KEY") readable only by its owner (mode 0600), which
decom signs with without asking for a passphrase; cosign does not read it.
Whoever can read that file can sign certificates in your name.

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
	suffix, other := keySuffix, opts.Out+unencryptedKeySuffix
	if opts.Unencrypted {
		suffix, other = unencryptedKeySuffix, opts.Out+keySuffix
	}
	keyPath, pubPath := opts.Out+suffix, opts.Out+".pub"
	if !opts.Force {
		// The other kind of private key too: it would be left beside a .pub that
		// is not its own.
		for _, p := range []string{keyPath, pubPath, other} {
			if _, err := os.Stat(p); err == nil {
				return usageErrorf("%s exists: choose another --out, or --force to replace the key pair", p)
			}
		}
	}
	var (
		priv, pub []byte
		err       error
	)
	if opts.Unencrypted {
		priv, pub, err = certificates.GenerateUnencryptedKey(opts.Type)
	} else {
		var pass []byte
		if pass, err = g.passphrase("Passphrase for the new key", true); err != nil {
			return err
		}
		priv, pub, err = certificates.GenerateKey(opts.Type, pass)
	}
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
	// --force replaced the pair: a private key of the other kind belonged to the
	// public key just overwritten.
	removed := ""
	if err := os.Remove(other); err == nil {
		removed = other
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove the replaced private key: %w", err)
	}
	keys, err := certificates.LoadPublicKeys(pubPath)
	if err != nil {
		return err
	}
	fp := certificates.Fingerprint(keys[0])
	if g.Output == outputJSON {
		return writeJSON(g.stdout, struct {
			PrivateKey  string `json:"private_key"`
			Encrypted   bool   `json:"encrypted"`
			PublicKey   string `json:"public_key"`
			Type        string `json:"type"`
			Fingerprint string `json:"fingerprint"`
			Removed     string `json:"removed,omitempty"`
		}{keyPath, !opts.Unencrypted, pubPath, opts.Type, fp, removed})
	}
	state := "(encrypted)"
	if opts.Unencrypted {
		state = "(UNENCRYPTED: whoever can read this file can sign certificates)"
	}
	if _, err := fmt.Fprintf(g.stdout, "Private key: %s %s\nPublic key:  %s\nFingerprint: %s\n", keyPath, state, pubPath, fp); err != nil {
		return err
	}
	if removed != "" {
		_, err = fmt.Fprintf(g.stdout, "Removed:     %s (the replaced pair's private key)\n", removed)
	}
	return err
}
