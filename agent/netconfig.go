package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A network boot (decom image build --netboot) has no stick: its config file comes by
// URL from the kernel command line, decom.config=URL, pinned by decom.config.sha256=HEX
// on the same line. The agent brings the network up first, fetches the file, checks its
// SHA-256, writes it to /run/decom/config.yaml and reads it with decom's own loader, as
// a stick's. A missing pin, a wrong one or a URL that cannot be fetched is a problem:
// nothing is wiped, and decom's defaults never stand in for the config.
//
// The signing key comes the same way: the fetched config's key: may be an http(s)://
// URL, fetched once the config is read and pinned by the config's boot: key_sha256:
// (the config is pinned, so the key is too). It is written to /run/decom/signing.key.
// An encrypted key's passphrase is asked at the console, as on a stick without a
// key-passphrase file: an unattended network boot needs a key without one.

// Paths below the root of what a network boot fetches.
const (
	netConfigRel = "run/decom/config.yaml"
	netKeyRel    = "run/decom/signing.key"
)

// Limits of a fetch: a config or a key is a few KiB.
const (
	maxFetchBytes = 1 << 20
	fetchTimeout  = 30 * time.Second
	fetchAttempts = 3
)

// errPinMismatch is a fetched file whose SHA-256 is not the one asked for.
var errPinMismatch = errors.New("SHA-256 mismatch")

// netboot reports whether the kernel command line asks for a config by URL (well
// formed or not: a malformed decom.config= must not fall back to a stick or defaults).
func (a *agent) netboot() bool {
	return a.cmd.ConfigURL != "" || hasParam(a.cmd.Errors, "decom.config=") || hasParam(a.cmd.Errors, "decom.config.sha256=")
}

// netConfig fetches the config named by decom.config=, checks it against
// decom.config.sha256=, writes it to /run/decom/config.yaml and reads it; then fetches
// a key the config names by URL. Until all of that succeeded, nothing may be wiped.
func (a *agent) netConfig(ctx context.Context) error {
	a.configBad = true
	if a.cmd.ConfigURL == "" || a.cmd.ConfigSHA256 == "" {
		return errors.New("decom.config= and decom.config.sha256= are both needed (see above): nothing can be wiped, and decom's defaults are not used instead")
	}
	if !a.network {
		return fmt.Errorf("%s: not fetched: no network: nothing can be wiped", a.cmd.ConfigURL)
	}
	b, err := fetchPinned(ctx, a.clk, a.cmd.ConfigURL, a.cmd.ConfigSHA256)
	if err != nil {
		return fmt.Errorf("%v: nothing can be wiped, and decom's defaults are not used instead", err)
	}
	p := a.path(netConfigRel)
	if err := writePrivate(p, b); err != nil {
		return fmt.Errorf("writing %s: %v: nothing can be wiped", a.display(p), err)
	}
	a.configPath, a.configURL = p, a.cmd.ConfigURL
	a.configBad = false
	if err := a.readConfig(); err != nil || a.configBad {
		a.configBad = true
		return err
	}
	if err := a.netKey(ctx); err != nil {
		a.configBad = true
		return err
	}
	return nil
}

// netKey fetches the signing key when the config names it by URL, pinned by its
// boot: key_sha256:.
func (a *agent) netKey(ctx context.Context) error {
	if !isHTTPURL(a.cfg.Key) {
		if a.cfg.KeySHA256 != "" {
			a.out.Printf("WARNING: config file: boot: key_sha256: ignored: key: is not an http(s):// URL")
		}
		return nil
	}
	if a.cfg.KeySHA256 == "" {
		return fmt.Errorf("config file: key: %s: a key fetched by URL needs boot: key_sha256: (its SHA-256): nothing can be wiped", a.cfg.Key)
	}
	b, err := fetchPinned(ctx, a.clk, a.cfg.Key, a.cfg.KeySHA256)
	if err != nil {
		return fmt.Errorf("signing key: %v: nothing can be wiped", err)
	}
	p := a.path(netKeyRel)
	if err := writePrivate(p, b); err != nil {
		return fmt.Errorf("writing %s: %v: nothing can be wiped", a.display(p), err)
	}
	a.keyFile = p
	a.out.Printf("signing key: %s (SHA-256 as the config pins it), in %s", a.cfg.Key, a.display(p))
	return nil
}

// fetchPinned GETs url (a few tries, a short pause between) and returns its body when
// its SHA-256 is want (hex).
func fetchPinned(ctx context.Context, clk clock, url, want string) ([]byte, error) {
	client := &http.Client{Timeout: fetchTimeout}
	var err error
	for i := 0; i < fetchAttempts; i++ {
		if i > 0 {
			if clk.Sleep(ctx, time.Duration(i)*2*time.Second) != nil {
				break
			}
		}
		var b []byte
		b, err = fetchOnce(ctx, client, url)
		if err != nil {
			continue
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != strings.ToLower(want) {
			// The server answered: asking again would only get the same bytes.
			return nil, fmt.Errorf("%s: %w: got %s, the kernel command line or config pins %s", url, errPinMismatch, got, strings.ToLower(want))
		}
		return b, nil
	}
	return nil, fmt.Errorf("%s: unreachable: %v", url, err)
}

func fetchOnce(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			err = ue.Unwrap() // "Get URL: dial tcp…" says the URL twice otherwise
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP status %s", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxFetchBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFetchBytes {
		return nil, fmt.Errorf("more than %d bytes", maxFetchBytes)
	}
	return b, nil
}

// writePrivate writes b to p (mode 0600), making its directory.
func writePrivate(p string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	return os.WriteFile(p, b, 0o600)
}

func isHTTPURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}
