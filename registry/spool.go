package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/decom-project/decom/certificates"
)

// ReceiptPath is where the registry's receipt of a certificate file is kept: beside
// it, so that a certificate directory says by itself which certificates the registry
// has acknowledged and which still wait to be sent.
func ReceiptPath(cert string) string {
	return strings.TrimSuffix(cert, ".sigstore.json") + ".receipt.json"
}

// UploadFile sends one certificate file and keeps the receipt beside it
// (ReceiptPath). A registry that does not answer is tried again with a doubling
// delay, attempts times in all; a refusal is final.
func (c *Client) UploadFile(ctx context.Context, cert string, attempts int) (Receipt, error) {
	bundle, err := os.ReadFile(cert)
	if err != nil {
		return Receipt{}, err
	}
	var r Receipt
	delay := time.Second
	for i := 1; ; i++ {
		r, err = c.Upload(ctx, bundle)
		if err == nil || !errors.Is(err, ErrUnreachable) || i >= attempts {
			break
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
	if err != nil {
		return r, err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return r, err
	}
	dir, name := filepath.Split(ReceiptPath(cert))
	if dir == "" {
		dir = "."
	}
	if _, err := certificates.WriteFileAtomic(dir, name, append(b, '\n'), 0o644); err != nil {
		return r, fmt.Errorf("keep the receipt: %w", err)
	}
	return r, nil
}
