package certificates

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Kinds of signing key GenerateKey makes.
const (
	KeyECDSAP256 = "ecdsa-p256"
	KeyEd25519   = "ed25519"
)

// Errors of loading keys; callers test them with errors.Is.
var (
	// ErrKey is a key that cannot be read or used: a missing file, not PEM, an
	// unknown key type, an unknown KMS scheme.
	ErrKey = errors.New("unusable key")
	// ErrPassphrase is a passphrase that does not open an encrypted private key.
	ErrPassphrase = errors.New("wrong passphrase")
)

// PEM block types of private keys.
const (
	pemEncryptedSigstore = string(cryptoutils.EncryptedSigstorePrivateKeyPEMType)
	pemEncryptedCosign   = "ENCRYPTED COSIGN PRIVATE KEY" // what cosign wrote before v2.
	pemPKCS8             = string(cryptoutils.PrivateKeyPEMType)
	pemSEC1              = string(cryptoutils.ECPrivateKeyPEMType)
)

// GenerateKey makes a key pair of the given kind (KeyECDSAP256 or KeyEd25519). The
// private key is PKCS #8, encrypted with the passphrase (scrypt and NaCl secretbox)
// in a PEM block "ENCRYPTED SIGSTORE PRIVATE KEY": the format cosign writes and
// reads, so cosign can sign with a decom key and decom with a cosign key. An empty
// passphrase still encrypts, with the empty string, as cosign does; such a key is
// no better protected than an unencrypted one, so decom keys generate refuses an
// empty passphrase and offers GenerateUnencryptedKey instead. The public key is a
// PEM "PUBLIC KEY" (SPKI).
func GenerateKey(kind string, passphrase []byte) (privatePEM, publicPEM []byte, err error) {
	priv, publicPEM, err := newKey(kind)
	if err != nil {
		return nil, nil, err
	}
	if passphrase == nil {
		passphrase = []byte{}
	}
	der, err := cryptoutils.MarshalPrivateKeyToEncryptedDER(priv, cryptoutils.StaticPasswordFunc(passphrase))
	if err != nil {
		return nil, nil, fmt.Errorf("encrypt private key: %w", err)
	}
	return cryptoutils.PEMEncode(cryptoutils.EncryptedSigstorePrivateKeyPEMType, der), publicPEM, nil
}

// GenerateUnencryptedKey makes a key pair like GenerateKey, but leaves the private
// key unencrypted: plain PKCS #8 in a PEM block "PRIVATE KEY", which LoadSigner
// opens without asking for a passphrase (cosign does not read it: its keys are
// always encrypted). Whoever can read the file can sign with it.
func GenerateUnencryptedKey(kind string) (privatePEM, publicPEM []byte, err error) {
	priv, publicPEM, err := newKey(kind)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPKCS8, Bytes: der}), publicPEM, nil
}

// newKey makes a private key of the given kind and the PEM of its public key.
func newKey(kind string) (crypto.Signer, []byte, error) {
	var (
		priv crypto.Signer
		err  error
	)
	switch kind {
	case KeyECDSAP256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyEd25519:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, nil, fmt.Errorf("%w: key type %q: want %s or %s", ErrKey, kind, KeyECDSAP256, KeyEd25519)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("generate %s key: %w", kind, err)
	}
	publicPEM, err := cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		return nil, nil, fmt.Errorf("encode public key: %w", err)
	}
	return priv, publicPEM, nil
}

// privateKeyBlock decodes the PEM block of a private key and reports whether it is
// encrypted.
func privateKeyBlock(pemBytes []byte) (block *pem.Block, isEncrypted bool, err error) {
	block, _ = pem.Decode(pemBytes)
	if block == nil {
		return nil, false, fmt.Errorf("%w: not a PEM private key", ErrKey)
	}
	switch block.Type {
	case pemEncryptedSigstore, pemEncryptedCosign:
		return block, true, nil
	case pemPKCS8, pemSEC1:
		// OpenSSL's old PEM encryption (Proc-Type and DEK-Info headers) keeps the
		// block type: such a block is not the plain key it looks like.
		if len(block.Headers) > 0 {
			return nil, false, fmt.Errorf("%w: PEM block %q has headers (%s): an OpenSSL-encrypted key, which decom does not read; convert it to a decom or cosign key", ErrKey, block.Type, headerNames(block.Headers))
		}
		return block, false, nil
	}
	return nil, false, fmt.Errorf("%w: PEM block %q is not a private key decom reads (want %q)", ErrKey, block.Type, pemEncryptedSigstore)
}

func headerNames(h map[string]string) string {
	return strings.Join(slices.Sorted(maps.Keys(h)), ", ")
}

// LoadPrivateKey opens a private key written by GenerateKey or by cosign
// generate-key-pair (PEM "ENCRYPTED SIGSTORE PRIVATE KEY" or "ENCRYPTED COSIGN
// PRIVATE KEY"); unencrypted PKCS #8 ("PRIVATE KEY", as GenerateUnencryptedKey
// writes it) or SEC 1 ("EC PRIVATE KEY") keys in plain PEM, without headers, are
// read too, and then the passphrase is ignored. ECDSA keys sign with the hash of their curve (SHA-256 for
// P-256), Ed25519 keys sign pure Ed25519. A passphrase that does not open the key
// gives ErrPassphrase; anything else unreadable gives ErrKey.
func LoadPrivateKey(pemBytes, passphrase []byte) (signature.SignerVerifier, error) {
	block, isEncrypted, err := privateKeyBlock(pemBytes)
	if err != nil {
		return nil, err
	}
	der := block.Bytes
	if isEncrypted {
		if passphrase == nil {
			passphrase = []byte{}
		}
		der, err = encrypted.Decrypt(block.Bytes, passphrase)
		if err != nil {
			// Decrypt's one error after the envelope parsed is secretbox refusing to
			// open: the passphrase is wrong (or the ciphertext was altered).
			if strings.Contains(err.Error(), "decryption failed") {
				return nil, ErrPassphrase
			}
			return nil, fmt.Errorf("%w: encrypted private key is damaged: %v", ErrKey, err)
		}
	}
	var priv any
	if block.Type == pemSEC1 {
		priv, err = x509.ParseECPrivateKey(der)
	} else {
		priv, err = x509.ParsePKCS8PrivateKey(der)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: private key: %v", ErrKey, err)
	}
	sv, err := signature.LoadDefaultSignerVerifier(priv)
	if err != nil {
		return nil, fmt.Errorf("%w: private key: %v", ErrKey, err)
	}
	return sv, nil
}

// LoadSigner opens the signing key ref names: a KMS URI (see kms.go for the schemes
// this build knows) or the path of a private key file. passphrase is called, once,
// only when the file is encrypted; it may prompt.
func LoadSigner(ctx context.Context, ref string, passphrase func() ([]byte, error)) (signature.SignerVerifier, error) {
	if isKMSRef(ref) {
		return loadKMSSigner(ctx, ref)
	}
	b, err := os.ReadFile(ref)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	_, isEncrypted, err := privateKeyBlock(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	var pass []byte
	if isEncrypted {
		if passphrase == nil {
			return nil, fmt.Errorf("%s: %w: the key is encrypted and no passphrase was given", ref, ErrKey)
		}
		if pass, err = passphrase(); err != nil {
			return nil, fmt.Errorf("%s: passphrase: %w", ref, err)
		}
	}
	sv, err := LoadPrivateKey(b, pass)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	return sv, nil
}

// LoadPublicKeys reads the public keys certificates are verified against: each path
// is a PEM public key file (as GenerateKey or cosign write it) or a directory whose
// *.pub files are all read. A path that cannot be read, or holds no key, gives
// ErrKey naming it.
func LoadPublicKeys(paths ...string) ([]crypto.PublicKey, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("%w: no public key given", ErrKey)
	}
	var keys []crypto.PublicKey
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrKey, err)
		}
		files := []string{p}
		if fi.IsDir() {
			if files, err = filepath.Glob(filepath.Join(p, "*.pub")); err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrKey, p, err)
			}
			if len(files) == 0 {
				return nil, fmt.Errorf("%w: %s: no *.pub files in the directory", ErrKey, p)
			}
			slices.Sort(files)
		}
		for _, f := range files {
			k, err := loadPublicKey(f)
			if err != nil {
				return nil, err
			}
			keys = append(keys, k)
		}
	}
	return keys, nil
}

func loadPublicKey(path string) (crypto.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("%w: %s: not a PEM public key", ErrKey, path)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKey, path, err)
	}
	if err := cryptoutils.ValidatePubKey(k); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKey, path, err)
	}
	return k, nil
}

// Fingerprint names a public key: "SHA256:" and the lower-case hex SHA-256 of its
// DER SubjectPublicKeyInfo. Bundles carry it as their key hint; it is "" for a key
// that has no SPKI form.
func Fingerprint(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return "SHA256:" + hex.EncodeToString(sum[:])
}

// keyHints are the hints a bundle signed by pub may carry: decom's Fingerprint, and
// the standard base64 SHA-256 of the SPKI that sigstore-go (and so cosign) writes.
func keyHints(pub crypto.PublicKey) []string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(der)
	return []string{"SHA256:" + hex.EncodeToString(sum[:]), base64.StdEncoding.EncodeToString(sum[:])}
}
