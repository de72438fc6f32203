package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/registry/tlog"
)

// An Auditor checks a registry the way an auditor would, without trusting it: that
// a certificate is in the registry's transparency log, under a checkpoint signed by
// the log's key, and that the log only ever grew since this Auditor last looked.
//
// It remembers two things per registry, in files under StateDir:
//
//	registry/<id>.logkey      the log's verifier key, pinned at the first check
//	registry/<id>.checkpoint  the last checkpoint a check accepted
//
// where <id> is the first 8 bytes of the SHA-256 of the registry's URL (without a
// trailing slash), in hex. The names and the layout are an interface: keys pinned
// by earlier versions of decom must keep working.
//
// Pinning is trust on first use: the first check of a registry takes the key the
// registry names (GET /api/v1/log/key) and keeps it; later checks use the kept key
// and never ask again, so a registry that starts signing with another key fails every
// check. Give LogKey, obtained out of band, to trust no answer at all; a given key is
// used as is and not pinned.
//
// # Why not tessera's client
//
// tessera (github.com/transparency-dev/tessera/client) offers LogStateTracker, which
// follows a log's checkpoints and proves each new one consistent with the last, and
// ProofBuilder, which builds inclusion and consistency proofs from the log's tiles.
// Both work against the tiles a registry serves at /log/ (TestTesseraClientReadsServedTiles
// checks that, and that its proofs are the registry's). The Auditor uses neither:
//
//   - LogStateTracker.Update takes a checkpoint no larger than the one it holds as
//     "nothing new" and keeps the old one, without an error. An Auditor must refuse a
//     log that shrank, and one of the same size with another root hash; both are the
//     very attacks it is there to catch.
//   - The tracker fetches the latest checkpoint itself, while a receipt's inclusion
//     proof is cut against the receipt's own checkpoint; and it remembers only in
//     memory, while an Auditor's memory must outlive the process. What is left of it
//     once both are worked around is one consistency proof and one call to
//     tlog.VerifyConsistency.
//   - ProofBuilder wraps the errors of its fetches with %v: whether the registry did
//     not answer (try again later: exit code 10) or answered wrongly is lost. The
//     registry serves the same proofs, built from the same tiles, in one request each
//     (GET /api/v1/log/consistency); the proofs are verified here whoever built them,
//     so where they are built does not change what a check proves.
//
// An auditor who wants to follow the log without decom can use tessera's client on
// /log/ directly.
type Auditor struct {
	Client *Client
	// StateDir holds what the Auditor remembers of registries; empty means
	// DefaultStateDir().
	StateDir string
	// LogKey is the log's verifier key (note format), when it is known out of band;
	// empty means the key pinned at the first check.
	LogKey string
}

// Audit is what Auditor.Check proved.
type Audit struct {
	// Receipt is the registry's receipt for the certificate.
	Receipt Receipt
	// Checkpoint is the receipt's checkpoint, signed by the log's key; the
	// certificate is its entry Receipt.LogIndex.
	Checkpoint tlog.Checkpoint
	// Previous is the checkpoint remembered from the check before, which Checkpoint
	// was proved to extend; nil at the first check of the registry.
	Previous *tlog.Checkpoint
	// Logged is what the registry's signed logged time proved (VerifyLogged), its
	// first checkpoint proved extended by Checkpoint; nil when the registry signs
	// no logged times.
	Logged *LoggedProof
}

// DefaultStateDir is where decom remembers registries between runs:
// $DECOM_STATE_DIR, else ~/.local/state/decom, else /var/lib/decom/state.
func DefaultStateDir() string {
	if dir := os.Getenv("DECOM_STATE_DIR"); dir != "" {
		return dir
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "decom")
	}
	return "/var/lib/decom/state"
}

// Key returns the log's verifier key: LogKey if given, else the key pinned at the
// first check of this registry, else the registry's own answer, which is pinned.
func (a *Auditor) Key(ctx context.Context) (string, error) {
	if a.LogKey != "" {
		return a.LogKey, nil
	}
	path := a.statePath("logkey")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	key, err := a.Client.LogKey(ctx)
	if err != nil {
		return "", err
	}
	if err := writeState(path, key+"\n"); err != nil {
		return "", err
	}
	return key, nil
}

// Check proves that bundle, the certificate id, is in the registry's log, and that
// the log extends the checkpoint this Auditor accepted before; then it remembers the
// receipt's checkpoint. A failed proof, a log that shrank or one that does not extend
// the remembered checkpoint is ErrInconsistent, and leaves the remembered checkpoint
// as it was; a registry that does not answer is ErrUnreachable.
func (a *Auditor) Check(ctx context.Context, id string, bundle []byte) (Audit, error) {
	key, err := a.Key(ctx)
	if err != nil {
		return Audit{}, err
	}
	r, err := a.Client.Proof(ctx, id)
	if err != nil {
		return Audit{}, err
	}
	cp, err := VerifyReceipt(r, bundle, key)
	if err != nil {
		return Audit{}, err
	}
	audit := Audit{Receipt: r, Checkpoint: cp}
	if audit.Logged, err = a.checkLogged(ctx, r, bundle, key, cp); err != nil {
		return Audit{}, err
	}
	path := a.statePath("checkpoint")
	if old, err := os.ReadFile(path); err == nil {
		prev, err := rememberedCheckpoint(old, key)
		if err != nil {
			return Audit{}, err
		}
		if prev.Size > cp.Size {
			return Audit{}, fmt.Errorf("%w: the log shrank from %d to %d entries since the last check", ErrInconsistent, prev.Size, cp.Size)
		}
		proof, err := a.Client.Consistency(ctx, prev.Size, cp.Size)
		if err != nil {
			return Audit{}, err
		}
		if err := extends(prev, cp, proof); err != nil {
			return Audit{}, err
		}
		audit.Previous = &prev
	}
	if err := writeState(path, r.Checkpoint); err != nil {
		return Audit{}, err
	}
	return audit, nil
}

// statePath names the file that keeps one kind of memory of the Auditor's registry.
func (a *Auditor) statePath(kind string) string {
	dir := a.StateDir
	if dir == "" {
		dir = DefaultStateDir()
	}
	sum := sha256.Sum256([]byte(strings.TrimSuffix(a.Client.URL, "/")))
	return filepath.Join(dir, "registry", hex.EncodeToString(sum[:8])+"."+kind)
}

func writeState(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	_, err := certificates.WriteFileAtomic(filepath.Dir(path), filepath.Base(path), []byte(content), 0o600)
	return err
}

// rememberedCheckpoint reads the checkpoint kept by the last check.
func rememberedCheckpoint(raw []byte, key string) (tlog.Checkpoint, error) {
	cp, err := tlog.VerifyCheckpoint(raw, key)
	if err != nil {
		return cp, fmt.Errorf("%w: the checkpoint remembered from the last check: %v", ErrInconsistent, err)
	}
	return cp, nil
}

// extends checks the proof that newer's log extends older's.
func extends(older, newer tlog.Checkpoint, proof [][]byte) error {
	if err := tlog.VerifyConsistency(older, newer, proof); err != nil {
		return fmt.Errorf("%w: the log of %d entries does not extend the %d-entry log seen before: %v",
			ErrInconsistent, newer.Size, older.Size, err)
	}
	return nil
}
