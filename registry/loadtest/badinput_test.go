package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/registry"
	"github.com/decom-project/decom/sanitize"
)

// TestBadInput sends the registry what a careless or hostile client would, and checks each
// answer: the status, a JSON error that says what is wrong, and that nothing was stored.
func TestBadInput(t *testing.T) {
	agent, stranger := keys(t)
	data, token := newRegistryData(t)
	s := startServer(t, data, logQuiet, openReads...)
	good := bundles(t, 1)[0]
	fromStranger, err := signedBundle(stranger.signer, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	// The same certificate signed again: ECDSA signatures differ, and so do the bundles.
	cert, err := sanitize.NewCertificate(evidence(1_000_001), certificates.Details{PerformedBy: certificates.Person{Name: "Load Tester"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	first, err := certificates.Sign(context.Background(), agent.signer, cert)
	if err != nil {
		t.Fatal(err)
	}
	second, err := certificates.Sign(context.Background(), agent.signer, cert)
	if err != nil {
		t.Fatal(err)
	}
	c := agentClient()
	defer c.CloseIdleConnections()

	t.Run("uploads", func(t *testing.T) {
		// Just over the limit, and over a mebibyte.
		oversized := append(append([]byte(`{"mediaType":"`), bytes.Repeat([]byte("x"), registry.MaxBundle)...), `"}`...)
		huge := append(append([]byte(`{"mediaType":"`), bytes.Repeat([]byte("x"), 2<<20)...), `"}`...)
		for _, tc := range []struct {
			name   string
			header string // Authorization
			body   []byte
			want   int
		}{
			{"no token", "", good.JSON, http.StatusUnauthorized},
			{"empty bearer", "Bearer ", good.JSON, http.StatusUnauthorized},
			{"wrong token", "Bearer decom_" + strings.Repeat("A", 43), good.JSON, http.StatusUnauthorized},
			{"malformed token", "Bearer ' OR 1=1 --", good.JSON, http.StatusUnauthorized},
			{"token as basic auth", "Basic " + base64.StdEncoding.EncodeToString([]byte("loadtest:"+token)), good.JSON, http.StatusUnauthorized},
			{"unknown key", "Bearer " + token, fromStranger.JSON, http.StatusForbidden},
			// The signature no longer verifies: the registry cannot tell a tampered bundle from
			// one signed by another key, and says so with 403.
			{"tampered payload", "Bearer " + token, tamperPayload(t, good.JSON), http.StatusForbidden},
			{"tampered signature", "Bearer " + token, tamperSignature(t, good.JSON), http.StatusForbidden},
			{"wrong payload type, signed", "Bearer " + token, resign(t, agent.signer, good.JSON, "text/plain", nil), http.StatusBadRequest},
			{"wrong predicate type, signed", "Bearer " + token, resign(t, agent.signer, good.JSON, certificates.PayloadType, func(st map[string]any) {
				st["predicateType"] = "https://slsa.dev/provenance/v1"
			}), http.StatusBadRequest},
			{"malformed JSON", "Bearer " + token, []byte(`{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",`), http.StatusBadRequest},
			{"not JSON", "Bearer " + token, []byte("\x00\x01\x02 certificate"), http.StatusBadRequest},
			{"empty body", "Bearer " + token, nil, http.StatusBadRequest},
			{"JSON array", "Bearer " + token, []byte(`[]`), http.StatusBadRequest},
			{"JSON null", "Bearer " + token, []byte(`null`), http.StatusBadRequest},
			{"unknown field", "Bearer " + token, addField(t, good.JSON), http.StatusBadRequest},
			{"oversized", "Bearer " + token, oversized, http.StatusRequestEntityTooLarge},
			{"over 1 MiB", "Bearer " + token, huge, http.StatusRequestEntityTooLarge},
		} {
			req, err := http.NewRequest(http.MethodPost, s.URL+"/api/v1/certificates", bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			req.Header.Set("Content-Type", "application/json")
			checkAPIError(t, c, req, tc.name, tc.want)
		}
		// An oversized body with no Content-Length (chunked) is cut off as well.
		req, err := http.NewRequest(http.MethodPost, s.URL+"/api/v1/certificates", io.MultiReader(bytes.NewReader(huge)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		checkAPIError(t, c, req, "oversized, chunked", http.StatusRequestEntityTooLarge)

		if cp, _ := s.checkpoint(t); cp.Size != 0 {
			t.Errorf("the log has %d entries after bad uploads only", cp.Size)
		}
		if recs, err := s.stored(c); err != nil || len(recs) != 0 {
			t.Errorf("%d certificates stored after bad uploads only (%v)", len(recs), err)
		}
	})

	t.Run("same ID, another bundle", func(t *testing.T) {
		if code, body, err := upload(context.Background(), c, s.URL, token, first); err != nil || code != http.StatusCreated {
			t.Fatalf("upload: %d %v: %s", code, err, body)
		}
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v1/certificates", bytes.NewReader(second))
		req.Header.Set("Authorization", "Bearer "+token)
		checkAPIError(t, c, req, "same ID, another bundle", http.StatusConflict)
		if b, err := get(c, s.URL+"/api/v1/certificates/"+cert.ID+"/bundle"); err != nil || !bytes.Equal(b, first) {
			t.Errorf("the stored bundle of %s is not the first one uploaded (%v)", cert.ID, err)
		}
		if cp, _ := s.checkpoint(t); cp.Size != 1 {
			t.Errorf("the log has %d entries, want 1", cp.Size)
		}
	})

	// A good certificate, so that searches have something they must not match.
	if code, body, err := upload(context.Background(), c, s.URL, token, good.JSON); err != nil || code != http.StatusCreated {
		t.Fatalf("upload: %d %v: %s", code, err, body)
	}
	goodCert, _, err := certificates.Inspect(good.JSON)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("search", func(t *testing.T) {
		var page registry.SearchResult
		if err := getJSON(c, s.URL+"/api/v1/search?serial="+url.QueryEscape(goodCert.Media.Serial), &page); err != nil || len(page.Certificates) != 1 {
			t.Fatalf("search by the serial of the stored certificate: %d results (%v)", len(page.Certificates), err)
		}
		hostile := []string{
			`' OR 1=1 --`, `' OR '1'='1`, `"; DROP TABLE certificates; --`, `%`, `%%`, `_`, `LT%`, `lt____________`, `*`, `\`,
			`\%`, "'", `"`, ";", "\x00", "a\x00b", "\xff\xfe", "\n\r", strings.Repeat("A", 10<<10), strings.Repeat("ü", 5<<10),
			"证书 🙂 مرحبا", "\u202e\u200b", "SELECT * FROM certificates", "$1", "?", "c1AAAAAAAAAAA",
		}
		params := []string{"serial", "wwn", "asset", "id", "outcome", "method", "organization", "customer", "cursor", "from", "to", "limit"}
		for _, p := range params {
			for _, v := range hostile {
				u := s.URL + "/api/v1/search?" + p + "=" + url.QueryEscape(v)
				req, _ := http.NewRequest(http.MethodGet, u, nil)
				code, body, err := do(c, req)
				if err != nil {
					t.Fatalf("search %s=%.40q: %v", p, v, err)
				}
				switch code {
				case http.StatusOK:
					var page registry.SearchResult
					if err := json.Unmarshal(body, &page); err != nil {
						t.Errorf("search %s=%.40q: 200 with %v", p, v, err)
					} else if len(page.Certificates) != 0 && p != "limit" {
						t.Errorf("search %s=%.40q: %d results, want none", p, v, len(page.Certificates))
					}
				case http.StatusBadRequest:
					checkErrorBody(t, fmt.Sprintf("search %s=%.40q", p, v), body)
				default:
					t.Errorf("search %s=%.40q: %d, want 200 with no results or 400: %.200s", p, v, code, body)
				}
				// The page for people takes the same parameters.
				ui, _ := http.NewRequest(http.MethodGet, s.URL+"/?"+p+"="+url.QueryEscape(v), nil)
				if code, body, err := do(c, ui); err != nil || code >= 500 {
					t.Errorf("search page %s=%.40q: %d %v: %.200s", p, v, code, err, body)
				}
			}
		}
		for _, q := range []string{"limit=-1", "limit=0", "limit=99999999999999999999", "limit=abc", "from=2026-13-45", "to=yesterday", "cursor=%00"} {
			req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/v1/search?"+q, nil)
			checkAPIError(t, c, req, "search "+q, http.StatusBadRequest)
		}
	})

	t.Run("lookups", func(t *testing.T) {
		for _, tc := range []struct {
			path string
			want int
		}{
			{"/api/v1/certificates/no-such-certificate", http.StatusNotFound},
			{"/api/v1/certificates/no-such-certificate/proof", http.StatusNotFound},
			{"/api/v1/certificates/no-such-certificate/bundle", http.StatusNotFound},
			{"/api/v1/certificates/" + strings.Repeat("A", 10<<10) + "/proof", http.StatusNotFound},
			{"/api/v1/certificates/%27%20OR%201%3D1%20--/proof", http.StatusNotFound},
			{"/api/v1/certificates/%00/proof", http.StatusNotFound},
			{"/api/v1/log/consistency?from=5&to=1", http.StatusBadRequest},
			{"/api/v1/log/consistency?from=abc&to=1", http.StatusBadRequest},
			{"/api/v1/log/consistency?from=1", http.StatusBadRequest},
			{"/api/v1/log/consistency?from=1&to=18446744073709551615", http.StatusBadRequest},
			{"/api/v1/log/consistency?from=-1&to=2", http.StatusBadRequest},
		} {
			req, _ := http.NewRequest(http.MethodGet, s.URL+tc.path, nil)
			checkAPIError(t, c, req, "GET "+tc.path[:min(len(tc.path), 80)], tc.want)
		}
		for _, method := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch} {
			req, _ := http.NewRequest(method, s.URL+"/api/v1/certificates", strings.NewReader("{}"))
			req.Header.Set("Authorization", "Bearer "+token)
			if code, _, err := do(c, req); err != nil || code != http.StatusMethodNotAllowed {
				t.Errorf("%s /api/v1/certificates: %d %v, want 405", method, code, err)
			}
		}
	})

	t.Run("path traversal", func(t *testing.T) {
		secrets := dataDirSecrets(t, data)
		for _, p := range []string{
			"/log/../log.key", "/log/../registry.db", "/log/../data.db", "/log/../../log.key",
			"/log/..%2flog.key", "/log/..%2Fregistry.db", "/log/%2e%2e/log.key", "/log/%2e%2e%2flog.key", "/log/.%2e/log.key",
			"/log/%252e%252e%252flog.key", "/log/..%5clog.key", "/log/..\\log.key", "/log/....//log.key",
			"/log/tile/..%2f..%2flog.key", "/log/tile/../../log.key", "/log/tile/0/..%2f..%2f..%2flog.key",
			"/log/tile/entries/..%2f..%2f..%2flog.key", "/log/tile/0/000.p/..%2f..%2f..%2f..%2flog.key",
			"/log/tile/0/x..%2f..%2flog.key", "/log/checkpoint/..%2f..%2flog.key", "/log/checkpoint%00../log.key",
			"/log/.state/treeState", "/log/.decom-tlog.lock", "/log//etc/passwd", "/log/%2fetc%2fpasswd",
			"/log.key", "/registry.db", "/log.pub", "/registry.db-wal", "/../log.key", "/%2e%2e/log.key",
			"/api/v1/certificates/..%2f..%2flog.key", "/api/v1/certificates/..%2f..%2flog.key/bundle",
		} {
			code, body := rawGet(t, s.URL, p)
			if code != http.StatusNotFound && code != http.StatusBadRequest {
				t.Errorf("GET %s: %d, want 404 or 400: %.200q", p, code, body)
			}
			for name, secret := range secrets {
				if bytes.Contains(body, secret) {
					t.Errorf("GET %s: the answer holds the data directory's %s", p, name)
				}
			}
		}
		// The tiles themselves are served.
		if code, _ := rawGet(t, s.URL, "/log/checkpoint"); code != http.StatusOK {
			t.Errorf("GET /log/checkpoint: %d", code)
		}
	})
}

// checkAPIError sends req and wants status want with a JSON error body.
func checkAPIError(t *testing.T, c *http.Client, req *http.Request, what string, want int) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Errorf("%s: %d, want %d: %.300s", what, resp.StatusCode, want, body)
		return
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	checkErrorBody(t, what, body)
}

// checkErrorBody wants {"error": "..."} and nothing else.
func checkErrorBody(t *testing.T, what string, body []byte) {
	t.Helper()
	var e map[string]any
	if err := json.Unmarshal(body, &e); err != nil {
		t.Errorf("%s: error body is not JSON: %v: %.200q", what, err, body)
		return
	}
	msg, ok := e["error"].(string)
	if !ok || strings.TrimSpace(msg) == "" || len(e) != 1 {
		t.Errorf("%s: error body %.200s, want {\"error\": \"...\"}", what, body)
	}
}

// rawGet sends path exactly as written (no client-side cleaning or escaping) and follows up to
// three redirects on the same server; it returns the last status and the bodies of all answers.
func rawGet(t *testing.T, base, path string) (int, []byte) {
	t.Helper()
	host := strings.TrimPrefix(base, "http://")
	var all []byte
	for range 4 {
		conn, err := net.DialTimeout("tcp", host, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			conn.Close()
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		conn.Close()
		all = append(all, body...)
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode > 399 || loc == "" {
			return resp.StatusCode, all
		}
		u, err := url.Parse(loc)
		if err != nil || (u.Host != "" && u.Host != host) {
			t.Errorf("GET %s: redirected off the server, to %q", path, loc)
			return resp.StatusCode, all
		}
		path = u.RequestURI()
	}
	t.Errorf("GET %s: redirected more than three times", path)
	return 0, all
}

// dataDirSecrets are the contents that must never be served: the log's private key and the
// database (by its header and a slice of its pages).
func dataDirSecrets(t *testing.T, data string) map[string][]byte {
	t.Helper()
	key, err := os.ReadFile(filepath.Join(data, "log.key"))
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string][]byte{"log.key": bytes.TrimSpace(key), "SQLite header": []byte("SQLite format 3")}
	if db, err := os.ReadFile(filepath.Join(data, "registry.db")); err == nil && len(db) > 4096+64 {
		secrets["registry.db page"] = db[4096 : 4096+64]
	}
	return secrets
}

// editBundle decodes a bundle, lets edit change its DSSE envelope, and encodes it again.
func editBundle(t *testing.T, b []byte, edit func(env map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	env, ok := m["dsseEnvelope"].(map[string]any)
	if !ok {
		t.Fatalf("no dsseEnvelope in %.100s", b)
	}
	edit(env)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func decodeField(t *testing.T, v any) []byte {
	t.Helper()
	s, _ := v.(string)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tamperPayload flips one bit of the signed payload: still valid JSON, still base64.
func tamperPayload(t *testing.T, b []byte) []byte {
	return editBundle(t, b, func(env map[string]any) {
		p := decodeField(t, env["payload"])
		i := bytes.Index(p, []byte(`"Load Tester"`))
		if i < 0 {
			t.Fatal("no operator's name in the payload")
		}
		p[i+1] ^= 0x20 // "load Tester"
		env["payload"] = base64.StdEncoding.EncodeToString(p)
	})
}

func tamperSignature(t *testing.T, b []byte) []byte {
	return editBundle(t, b, func(env map[string]any) {
		sigs := env["signatures"].([]any)
		sig := sigs[0].(map[string]any)
		s := decodeField(t, sig["sig"])
		s[len(s)/2] ^= 1
		sig["sig"] = base64.StdEncoding.EncodeToString(s)
	})
}

func addField(t *testing.T, b []byte) []byte {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["extra"] = "field"
	out, _ := json.Marshal(m)
	return out
}

// resign changes the payload type (and, with edit, the statement) and signs the result with the
// enrolled key: the signature verifies, the content is not a decom certificate.
func resign(t *testing.T, signer signature.SignerVerifier, b []byte, payloadType string, edit func(statement map[string]any)) []byte {
	return editBundle(t, b, func(env map[string]any) {
		p := decodeField(t, env["payload"])
		if edit != nil {
			var st map[string]any
			dec := json.NewDecoder(bytes.NewReader(p))
			dec.UseNumber() // the certificate's 64-bit numbers stay as they are
			if err := dec.Decode(&st); err != nil {
				t.Fatal(err)
			}
			edit(st)
			var err error
			if p, err = json.Marshal(st); err != nil {
				t.Fatal(err)
			}
		}
		sig, err := signer.SignMessage(bytes.NewReader(dsse.PAE(payloadType, p)))
		if err != nil {
			t.Fatal(err)
		}
		env["payloadType"] = payloadType
		env["payload"] = base64.StdEncoding.EncodeToString(p)
		env["signatures"] = []any{map[string]any{"sig": base64.StdEncoding.EncodeToString(sig)}}
	})
}
