package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/registry"
	"github.com/decom-project/decom/registry/tlog"
)

// registryOptions name the registry certificates go to.
type registryOptions struct {
	URL   string
	Token string
}

func (o *registryOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.URL, "registry", "", "URL of the central registry (DECOM_REGISTRY)")
	f.StringVar(&o.Token, "token", "", "the registry's API token (DECOM_REGISTRY_TOKEN)")
}

func (o *registryOptions) apply(flags *pflag.FlagSet, c fileConfig) {
	resolve(flags, []setting{
		{"registry", "DECOM_REGISTRY", c.Registry, &o.URL},
		{"token", "DECOM_REGISTRY_TOKEN", c.RegistryToken, &o.Token},
	})
}

func (o registryOptions) client() *registry.Client {
	return &registry.Client{URL: o.URL, Token: o.Token}
}

// pinnedLogKey returns the registry's log verifier key: the one given, else the one
// pinned at the first check of this registry (trust on first use, kept in the state
// directory), else the registry's own answer, which is then pinned.
func pinnedLogKey(ctx context.Context, c *registry.Client, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	path := statePath("logkey", c.URL)
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	key, err := c.LogKey(ctx)
	if err != nil {
		return "", err
	}
	if err := writeState(path, key+"\n"); err != nil {
		return "", err
	}
	return key, nil
}

// statePath names a file of decom's client state for a registry.
func statePath(kind, registryURL string) string {
	dir := os.Getenv("DECOM_STATE_DIR")
	if dir == "" {
		if home, err := os.UserHomeDir(); err == nil {
			dir = filepath.Join(home, ".local", "state", "decom")
		} else {
			dir = "/var/lib/decom/state"
		}
	}
	sum := sha256.Sum256([]byte(strings.TrimSuffix(registryURL, "/")))
	return filepath.Join(dir, "registry", hex.EncodeToString(sum[:8])+"."+kind)
}

func writeState(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	_, err := certificates.WriteFileAtomic(filepath.Dir(path), filepath.Base(path), []byte(content), 0o600)
	return err
}

// checkInRegistry proves that a certificate is in the registry's log, and that the
// log extends every checkpoint this client saw before; then remembers the new one.
func checkInRegistry(ctx context.Context, c *registry.Client, logKey string, id string, bundle []byte) (string, error) {
	key, err := pinnedLogKey(ctx, c, logKey)
	if err != nil {
		return "", err
	}
	r, err := c.Proof(ctx, id)
	if err != nil {
		return "", err
	}
	cp, err := registry.VerifyReceipt(r, bundle, key)
	if err != nil {
		return "", err
	}
	path := statePath("checkpoint", c.URL)
	msg := fmt.Sprintf("in the registry's log as entry %d of %d", r.LogIndex, cp.Size)
	if old, err := os.ReadFile(path); err == nil {
		prev, err := registryCheckpoint(old, key)
		if err != nil {
			return "", err
		}
		if prev.Size > cp.Size {
			return "", fmt.Errorf("%w: the log shrank from %d to %d entries since the last check", registry.ErrInconsistent, prev.Size, cp.Size)
		}
		proof, err := c.Consistency(ctx, prev.Size, cp.Size)
		if err != nil {
			return "", err
		}
		if err := verifyConsistency(prev, cp, proof); err != nil {
			return "", err
		}
		msg += fmt.Sprintf("; consistent with the %d-entry log seen before", prev.Size)
	}
	if err := writeState(path, r.Checkpoint); err != nil {
		return "", err
	}
	return msg, nil
}
func registryCheckpoint(raw []byte, key string) (tlog.Checkpoint, error) {
	cp, err := tlog.VerifyCheckpoint(raw, key)
	if err != nil {
		return cp, fmt.Errorf("%w: the checkpoint remembered from the last check: %v", registry.ErrInconsistent, err)
	}
	return cp, nil
}

func verifyConsistency(older, newer tlog.Checkpoint, proof [][]byte) error {
	if err := tlog.VerifyConsistency(older, newer, proof); err != nil {
		return fmt.Errorf("%w: the log of %d entries does not extend the %d-entry log seen before: %v",
			registry.ErrInconsistent, newer.Size, older.Size, err)
	}
	return nil
}
