package registry

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/decom-project/decom/registry/tlog"
)

// Errors of the client, for errors.Is.
var (
	// ErrUnreachable: the registry did not answer (network, 5xx); try again later.
	ErrUnreachable = errors.New("registry unreachable")
	// ErrRejected: the registry answered and refused (4xx); trying again will not help.
	ErrRejected = errors.New("rejected by the registry")
	// ErrInconsistent: the registry's log does not extend what it showed before, or a
	// proof does not verify: the registry is not to be trusted.
	ErrInconsistent = errors.New("registry log proof failed")
)

// Client talks to a registry: agents upload with it, auditors check with it.
type Client struct {
	URL   string // base URL, such as https://registry.example:8443
	Token string
	HTTP  *http.Client
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	u := strings.TrimSuffix(c.URL, "/") + path
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	if resp.StatusCode >= 300 {
		var e apiError
		_ = json.Unmarshal(data, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		kind := ErrRejected
		if resp.StatusCode >= 500 {
			kind = ErrUnreachable
		}
		return fmt.Errorf("%w: %s %s: %d: %s", kind, method, path, resp.StatusCode, e.Error)
	}
	switch o := out.(type) {
	case nil:
		return nil
	case *[]byte:
		*o = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w: %s %s: unexpected answer: %v", ErrUnreachable, method, path, err)
	}
	return nil
}

// Upload sends a certificate bundle and returns the registry's receipt.
func (c *Client) Upload(ctx context.Context, bundle []byte) (Receipt, error) {
	var r Receipt
	err := c.do(ctx, http.MethodPost, "/api/v1/certificates", bundle, &r)
	return r, err
}

// Proof fetches the receipt of a stored certificate, proved against the registry's
// latest checkpoint.
func (c *Client) Proof(ctx context.Context, id string) (Receipt, error) {
	var r Receipt
	err := c.do(ctx, http.MethodGet, "/api/v1/certificates/"+url.PathEscape(id)+"/proof", nil, &r)
	return r, err
}

// LogKey fetches the verifier key of the registry's checkpoints.
func (c *Client) LogKey(ctx context.Context) (string, error) {
	var b []byte
	err := c.do(ctx, http.MethodGet, "/api/v1/log/key", nil, &b)
	return strings.TrimSpace(string(b)), err
}

// Consistency fetches the proof that the log at size to extends the log at size from.
func (c *Client) Consistency(ctx context.Context, from, to uint64) ([][]byte, error) {
	var p ConsistencyProof
	if err := c.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/log/consistency?from=%d&to=%d", from, to), nil, &p); err != nil {
		return nil, err
	}
	return decodeHashes(p.Proof)
}

func decodeHashes(in []string) ([][]byte, error) {
	out := make([][]byte, len(in))
	for i, h := range in {
		b, err := base64.StdEncoding.DecodeString(h)
		if err != nil {
			return nil, fmt.Errorf("%w: malformed proof hash", ErrInconsistent)
		}
		out[i] = b
	}
	return out, nil
}

// VerifyReceipt checks a receipt as an auditor would: the checkpoint is signed by
// logKey, and the bundle is the entry at the receipt's index under it.
func VerifyReceipt(r Receipt, bundle []byte, logKey string) (tlog.Checkpoint, error) {
	cp, err := tlog.VerifyCheckpoint([]byte(r.Checkpoint), logKey)
	if err != nil {
		return cp, fmt.Errorf("%w: checkpoint: %v", ErrInconsistent, err)
	}
	proof, err := decodeHashes(r.InclusionProof)
	if err != nil {
		return cp, err
	}
	if err := tlog.VerifyInclusion(bundle, r.LogIndex, proof, cp); err != nil {
		return cp, fmt.Errorf("%w: inclusion of entry %d: %v", ErrInconsistent, r.LogIndex, err)
	}
	return cp, nil
}

// CertificatePage is the address of certificate id's page on the registry at
// base (such as https://registry.example:8443).
func CertificatePage(base, id string) string {
	return strings.TrimRight(base, "/") + "/certificates/" + url.PathEscape(id)
}
