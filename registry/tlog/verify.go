package tlog

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	flog "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

var (
	// ErrInvalidCheckpoint is returned by VerifyCheckpoint for a checkpoint that does not parse or
	// is not signed by the expected key.
	ErrInvalidCheckpoint = errors.New("tlog: invalid checkpoint")
	// ErrInvalidProof is returned by VerifyInclusion and VerifyConsistency when the proof does not
	// lead to the checkpoint's root hash.
	ErrInvalidProof = errors.New("tlog: invalid proof")
)

// Checkpoint is the content of a verified tlog-checkpoint: the log's origin, its size (number of
// entries) and the RFC 6962 root hash of the tree of that size.
type Checkpoint struct {
	Origin string
	Size   uint64
	Hash   []byte
}

// GenerateKey returns a new Ed25519 key pair in the golang.org/x/mod/sumdb/note format, named
// origin: signerKey ("PRIVATE+KEY+origin+…") stays with the registry and is turned into a signer
// with note.NewSigner; verifierKey ("origin+hash+…") is published for auditors. origin must be a
// valid key name: non-empty, no whitespace and no "+".
func GenerateKey(origin string) (signerKey, verifierKey string, err error) {
	signerKey, verifierKey, err = note.GenerateKey(rand.Reader, origin)
	if err == nil {
		// note.GenerateKey does not check the name; the parsers do.
		_, err = note.NewVerifier(verifierKey)
	}
	if err != nil {
		return "", "", fmt.Errorf("tlog: generate key for origin %q: %w", origin, err)
	}
	return signerKey, verifierKey, nil
}

// VerifierKey derives the verifier key of a signer key made by GenerateKey (an Ed25519 note
// key): sharers of one log keep only the signer key and agree on the verifier key.
func VerifierKey(signerKey string) (string, error) {
	s, err := note.NewSigner(signerKey)
	if err != nil {
		return "", fmt.Errorf("tlog: signer key: %w", err)
	}
	// PRIVATE+KEY+name+hash+key: names hold no "+", the base64 key may.
	f := strings.SplitN(signerKey, "+", 5)
	raw, err := base64.StdEncoding.DecodeString(f[len(f)-1])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", errors.New("tlog: signer key: not an Ed25519 note key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(s.Name(), pub)
	if err != nil {
		return "", fmt.Errorf("tlog: signer key: %w", err)
	}
	if v, err := note.NewVerifier(vkey); err != nil || v.KeyHash() != s.KeyHash() {
		return "", errors.New("tlog: signer key: its key hash does not match its key")
	}
	return vkey, nil
}

// VerifyCheckpoint parses the signed checkpoint note cp and checks that it carries a valid
// signature by verifierKey and that its origin is the key's name.
func VerifyCheckpoint(cp []byte, verifierKey string) (Checkpoint, error) {
	v, err := note.NewVerifier(verifierKey)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("tlog: verify checkpoint: bad verifier key: %w", err)
	}
	c, err := parseCheckpoint(cp, v)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %w", ErrInvalidCheckpoint, err)
	}
	return c, nil
}

// VerifyInclusion checks that entry (its exact bytes) is the leaf at index in the tree committed
// to by cp, given an inclusion proof for that tree size.
func VerifyInclusion(entry []byte, index uint64, proofHashes [][]byte, cp Checkpoint) error {
	lh := rfc6962.DefaultHasher.HashLeaf(entry)
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, cp.Size, lh, proofHashes, cp.Hash); err != nil {
		return fmt.Errorf("%w: inclusion of index %d in tree of size %d: %w", ErrInvalidProof, index, cp.Size, err)
	}
	return nil
}

// VerifyConsistency checks that the tree committed to by newer extends the tree committed to by
// older, given a consistency proof between their sizes. Both checkpoints should already have been
// verified with VerifyCheckpoint.
func VerifyConsistency(older, newer Checkpoint, proofHashes [][]byte) error {
	if older.Origin != newer.Origin {
		return fmt.Errorf("%w: origins differ (%q, %q)", ErrInvalidProof, older.Origin, newer.Origin)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, older.Size, newer.Size, proofHashes, older.Hash, newer.Hash); err != nil {
		return fmt.Errorf("%w: consistency from size %d to %d: %w", ErrInvalidProof, older.Size, newer.Size, err)
	}
	return nil
}

// parseCheckpoint opens the note with v and parses its text, requiring v's name as origin.
func parseCheckpoint(raw []byte, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(raw, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, err
	}
	return parseCheckpointText([]byte(n.Text), v.Name())
}

// parseCheckpointText parses a tlog-checkpoint body (extension lines are allowed and ignored).
func parseCheckpointText(text []byte, origin string) (Checkpoint, error) {
	var c flog.Checkpoint
	if _, err := c.Unmarshal(text); err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != origin {
		return Checkpoint{}, fmt.Errorf("origin %q, want %q", c.Origin, origin)
	}
	if len(c.Hash) != rfc6962.DefaultHasher.Size() {
		return Checkpoint{}, fmt.Errorf("root hash of %d bytes, want %d", len(c.Hash), rfc6962.DefaultHasher.Size())
	}
	return Checkpoint{Origin: c.Origin, Size: c.Size, Hash: c.Hash}, nil
}
