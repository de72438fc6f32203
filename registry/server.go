//go:build !agentimage

package registry

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/registry/store"
	"github.com/decom-project/decom/registry/tlog"
)

// MaxBundle bounds an uploaded certificate: a bundle is a few kilobytes, and the log
// takes entries of up to tlog.MaxEntrySize.
const MaxBundle = tlog.MaxEntrySize

// maxUploads bounds the uploads in flight: the log's backend has no pushback of its own.
const maxUploads = 512

// Server serves the registry's API, its log and its pages.
type Server struct {
	store       store.Store
	log         *tlog.Log
	logKey      string          // the log's note verifier key, published for auditors
	checkpoints checkpointTimes // checkpoints whose signed time was checked
	logger      *slog.Logger
	metrics     *metrics
	mux         *http.ServeMux
	keys        *keyCache
	uiTemplates *uiTemplates
	uploads     chan struct{}
	parsed      checkpointCache
	// instance names this server in the leases it takes on certificates to log, when
	// its log is shared with other instances.
	instance string
	// publicURL is Config.PublicURL.
	publicURL string
	// Access control (access.go, ratelimit.go).
	publicReads    bool
	limiter        *limiter // nil: no rate limit
	access         *accessMetrics
	loginTemplate  *template.Template
	metricsHandler http.Handler
	// skew is Config.Skew, or DefaultSkewLimits.
	skew SkewLimits
	// webhooks delivers the webhook outbox; nil without webhooks.
	webhooks *webhooks
}

// checkpointCache keeps the last checkpoint the server parsed and checked: receipts
// are cut against it many times between two checkpoints.
type checkpointCache struct {
	mu  sync.Mutex
	raw []byte
	cp  tlog.Checkpoint
}

func (c *checkpointCache) checkpoint(raw []byte, key string) (tlog.Checkpoint, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if bytes.Equal(raw, c.raw) {
		return c.cp, nil
	}
	cp, err := tlog.VerifyCheckpoint(raw, key)
	if err != nil {
		return cp, err
	}
	c.raw, c.cp = raw, cp
	return cp, nil
}

// Config is what a Server needs.
type Config struct {
	Store store.Store
	Log   *tlog.Log
	// LogKey is the verifier key of the log's checkpoints (note format).
	LogKey string
	Logger *slog.Logger
	// Registry receives the server's metrics; nil makes a fresh one.
	Registry *prometheus.Registry
	// Skew flags certificates whose issued time lies too far from their logged
	// time; zero means DefaultSkewLimits.
	Skew SkewLimits
	// PublicURL is the registry's address as auditors reach it (such as
	// https://registry.example:8443), or empty. The PDFs it renders lead there, to
	// the certificate's page, by their QR code; without it they name the
	// certificate by its ID. The request's Host header is never used for this: a
	// client chooses it.
	PublicURL string
	// PublicReads serves certificates (pages, bundles, PDFs, proofs, searches) to
	// anyone; without it they need a token with the read scope. See access.go.
	PublicReads bool
	// RateLimit limits each client's pages, PDFs and searches; a zero PerSecond
	// leaves them unlimited.
	RateLimit RateLimit
	// Webhooks, when set, are posted on every certificate logged (webhook.go);
	// RunWebhooks delivers them.
	Webhooks *WebhookConfig
}

// CheckPublicURL refuses a public URL that is not an absolute http or https URL
// without query or fragment.
func CheckPublicURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("public URL %q: want an absolute http:// or https:// URL, such as https://registry.example:8443", s)
	}
	return nil
}

// New builds a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.PublicURL != "" {
		if err := CheckPublicURL(cfg.PublicURL); err != nil {
			return nil, err
		}
	}
	ui, err := loadTemplates()
	if err != nil {
		return nil, err
	}
	login, err := loadLoginTemplate()
	if err != nil {
		return nil, err
	}
	s := &Server{store: cfg.Store, log: cfg.Log, logKey: cfg.LogKey, logger: cfg.Logger,
		metrics: newMetrics(cfg.Registry), mux: http.NewServeMux(), keys: &keyCache{store: cfg.Store, ttl: keyCacheTTL},
		uiTemplates: ui, uploads: make(chan struct{}, maxUploads), instance: instanceName(), publicURL: cfg.PublicURL,
		publicReads: cfg.PublicReads, limiter: newLimiter(cfg.RateLimit), access: newAccessMetrics(cfg.Registry),
		loginTemplate: login, metricsHandler: promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{}),
		skew: cfg.Skew}
	if s.skew == (SkewLimits{}) {
		s.skew = DefaultSkewLimits
	}
	if cfg.Webhooks != nil {
		if s.webhooks, err = newWebhooks(*cfg.Webhooks, s, cfg.Registry); err != nil {
			return nil, err
		}
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("POST /api/v1/certificates", s.upload)
	m.HandleFunc("GET /api/v1/certificates/{id}", s.getCertificate)
	m.HandleFunc("GET /api/v1/certificates/{id}/bundle", s.getBundle)
	m.HandleFunc("GET /api/v1/certificates/{id}/pdf", s.getPDF)
	m.HandleFunc("GET /api/v1/certificates/{id}/proof", s.getProof)
	m.HandleFunc("GET /api/v1/search", s.search)
	m.HandleFunc("GET "+SchemaPath, s.getSchema)
	m.HandleFunc("GET /api/v1/log/checkpoint", s.getCheckpoint)
	m.HandleFunc("GET /api/v1/log/key", s.getLogKey)
	m.HandleFunc("GET /api/v1/log/consistency", s.getConsistency)
	m.Handle("GET /log/", http.StripPrefix("/log", s.log.TileHandler()))
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	m.HandleFunc("GET /readyz", s.ready)
	m.Handle("GET /metrics", s.metricsHandler)
	s.uiRoutes(m)
	s.accessRoutes(m)
}

// MetricsHandler serves the server's metrics without asking for a token: for a
// listener of its own on a private network (decom registry serve --metrics-addr).
// On the main handler /metrics needs a token with the admin scope.
func (s *Server) MetricsHandler() http.Handler {
	return s.instrument(s.metricsHandler)
}

// Handler is the server's HTTP handler, with request logging, metrics, the rate
// limit and access control (access.go). Over TLS every answer carries
// Strict-Transport-Security, so that a browser that once reached the registry over
// HTTPS does not fall back to plain HTTP.
func (s *Server) Handler() http.Handler {
	guarded := s.guard(s.mux)
	return s.instrument(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		guarded.ServeHTTP(w, r)
	}))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, apiError{Error: fmt.Sprintf(format, args...)})
}

// upload accepts a certificate: token, size, signature by an enrolled key; then the
// store and the log. It answers only once both hold the certificate.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	select {
	case s.uploads <- struct{}{}:
		defer func() { <-s.uploads }()
	case <-r.Context().Done():
		return
	}
	if _, err := s.authorize(r, store.ScopeUpload, false); err != nil {
		s.metrics.rejected.WithLabelValues("token").Inc()
		if errors.Is(err, errScope) {
			writeError(w, http.StatusForbidden, "this token may not upload: it lacks the upload scope")
			return
		}
		writeError(w, http.StatusUnauthorized, "a valid API token is required (Authorization: Bearer TOKEN)")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBundle))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.metrics.rejected.WithLabelValues("size").Inc()
			writeError(w, http.StatusRequestEntityTooLarge, "certificate larger than %d bytes", MaxBundle)
			return
		}
		writeError(w, http.StatusBadRequest, "reading the body: %v", err)
		return
	}
	keys, err := s.keys.active(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	v, err := certificates.Verify(body, keys)
	switch {
	case errors.Is(err, certificates.ErrSignature):
		s.metrics.rejected.WithLabelValues("key").Inc()
		writeError(w, http.StatusForbidden, "not signed by a key enrolled with this registry: %v", err)
		return
	case err != nil:
		s.metrics.rejected.WithLabelValues("invalid").Inc()
		writeError(w, http.StatusBadRequest, "not a valid decom certificate: %v", err)
		return
	}
	c := v.Certificate
	rec, created, err := s.store.PutCertificate(r.Context(), store.Record{
		ID: c.ID, Status: c.Status, Outcome: c.Outcome, Serial: c.Media.Serial, WWN: c.Media.WWN,
		AssetNumber: c.Media.AssetNumber, Method: c.Sanitization.Method, Organization: c.Organization,
		Customer: c.Customer, KeyFingerprint: v.KeyFingerprint, Issued: c.Issued, Bundle: body,
		Job: jobFields(c),
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, "another certificate with ID %s is stored", c.ID)
		return
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, "certificate not storable: %v", err)
		return
	case err != nil:
		s.internal(w, r, err)
		return
	}
	idx, cp, err := s.integrate(r.Context(), rec)
	if r.Context().Err() != nil {
		// The agent went away; it will upload again and get the same entry.
		s.logger.Debug("upload abandoned by the client", "id", rec.ID)
		return
	}
	if errors.Is(err, tlog.ErrClosed) {
		writeError(w, http.StatusServiceUnavailable, "the registry is shutting down; upload again")
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	rec.LogCheckpoint = cp
	receipt, err := s.receipt(r.Context(), rec, idx)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	receipt.Created = created
	if created {
		s.metrics.accepted.Inc()
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, receipt)
}

// integrate puts a stored certificate in the log, once, and records its index with
// the first checkpoint seen to cover it, which it returns too.
func (s *Server) integrate(ctx context.Context, rec store.Record) (uint64, []byte, error) {
	if rec.LogIndex != nil {
		return *rec.LogIndex, rec.LogCheckpoint, nil
	}
	if s.log.Shared() {
		return s.integrateShared(ctx, rec)
	}
	return s.appendAndRecord(ctx, rec)
}

// appendAndRecord appends a certificate to the log and records its index, with the
// checkpoint published at that moment: the first to cover it, or close after.
func (s *Server) appendAndRecord(ctx context.Context, rec store.Record) (uint64, []byte, error) {
	idx, err := s.log.Append(ctx, rec.Bundle)
	if err != nil {
		return 0, nil, fmt.Errorf("append to the log: %w", err)
	}
	cp, err := s.log.Checkpoint(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("read the checkpoint: %w", err)
	}
	// The log gives the same bytes the same index, so a concurrent upload of the
	// same certificate records the same index; a conflict is a real disagreement.
	if err := s.store.SetLogged(ctx, rec.ID, idx, cp); err != nil {
		return 0, nil, fmt.Errorf("record the log index: %w", err)
	}
	if s.webhooks != nil {
		s.webhooks.notify()
	}
	// A concurrent upload of the same bytes may have recorded another checkpoint;
	// both cover the certificate.
	return idx, cp, nil
}

// Leases on logging a certificate, for instances that share a log: the holder
// appends it, renewing the lease while the append lasts; the others wait for the
// index it records. A lease runs out only when its holder died or hung; then another
// instance takes over, and the log, having read what the first one integrated,
// gives the certificate the index it got, if it got one.
const (
	logLease      = 10 * time.Second
	logLeaseRenew = 3 * time.Second
	logLeasePoll  = 10 * time.Millisecond
)

// integrateShared is integrate when other instances append to the same log: the
// log's own duplicate check cannot see their appends in flight, so the certificate
// is leased in the shared store first.
func (s *Server) integrateShared(ctx context.Context, rec store.Record) (uint64, []byte, error) {
	for {
		cur, claimed, err := s.store.ClaimLog(ctx, rec.ID, s.instance, logLease)
		if err != nil {
			return 0, nil, fmt.Errorf("lease the certificate for the log: %w", err)
		}
		if cur.LogIndex != nil {
			return *cur.LogIndex, cur.LogCheckpoint, nil
		}
		if claimed {
			return s.appendLeased(ctx, rec)
		}
		select {
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-time.After(logLeasePoll):
		}
	}
}

// appendLeased appends a leased certificate, renewing the lease until the append
// returns. The lease is not given back on failure: an append cut short may still
// land, and only the log can tell once it has.
func (s *Server) appendLeased(ctx context.Context, rec store.Record) (uint64, []byte, error) {
	done := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(logLeaseRenew)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), logLeaseRenew)
			if _, ok, err := s.store.ClaimLog(rctx, rec.ID, s.instance, logLease); err != nil || !ok {
				s.logger.Warn("could not renew the lease on logging a certificate", "id", rec.ID, "err", err)
			}
			cancel()
		}
	}()
	defer func() { close(done); <-renewed }()
	return s.appendAndRecord(ctx, rec)
}

// instanceName identifies this process among the registry instances: host, process
// ID and a random suffix, so that a restarted process never inherits leases.
func instanceName() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%x", host, os.Getpid(), b)
}

// Recover integrates every stored certificate the log does not have yet: what a
// crash between storing and logging left behind. The server calls it at start.
func (s *Server) Recover(ctx context.Context) (int, error) {
	n := 0
	for {
		pending, err := s.store.Pending(ctx, 500)
		if err != nil || len(pending) == 0 {
			return n, err
		}
		for _, rec := range pending {
			if _, _, err := s.integrate(ctx, rec); err != nil {
				return n, err
			}
			n++
		}
	}
}

// publishWait bounds how long a receipt waits for this instance to see the checkpoint
// that covers an index another instance recorded.
const publishWait = 5 * time.Second

// receipt proves the certificate rec, at idx, against the latest checkpoint, and
// gives the signed evidence of when it was logged.
func (s *Server) receipt(ctx context.Context, rec store.Record, idx uint64) (Receipt, error) {
	id := rec.ID
	wctx, cancel := context.WithTimeout(ctx, publishWait)
	err := s.log.AwaitPublished(wctx, idx)
	cancel()
	if err != nil {
		return Receipt{}, err
	}
	cpRaw, err := s.log.Checkpoint(ctx)
	if err != nil {
		return Receipt{}, err
	}
	cp, err := s.parsed.checkpoint(cpRaw, s.logKey)
	if err != nil {
		return Receipt{}, fmt.Errorf("own checkpoint: %w", err)
	}
	proof, err := s.log.InclusionProof(ctx, idx, cp.Size)
	if err != nil {
		return Receipt{}, err
	}
	r := Receipt{ID: id, LogIndex: idx, TreeSize: cp.Size, Checkpoint: string(cpRaw), LogOrigin: cp.Origin,
		InclusionProof: make([]string, len(proof))}
	for i, h := range proof {
		r.InclusionProof[i] = base64.StdEncoding.EncodeToString(h)
	}
	if r.Logged, err = s.loggedTime(ctx, rec, idx); err != nil {
		return Receipt{}, err
	}
	return r, nil
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error; the registry's log has the details")
}

// Validity is the registry's judgement of a stored certificate's signature: the
// certificate page, GET /api/v1/certificates/{id} and the searches all give it, with
// a sentence saying why. It is judged against the time the registry received the
// certificate, so revoking a key keeps history: what was received before the
// revocation took effect stays valid.
const (
	// ValidityValid: signed by an enrolled key that is not revoked.
	ValidityValid = "valid"
	// ValidityKeyRevokedLater: signed by a key whose revocation took effect after
	// the registry received the certificate; the certificate stays valid.
	ValidityKeyRevokedLater = "valid-key-revoked-later"
	// ValidityKeyRevoked: received when the key's revocation was already in
	// effect (its effective time may be earlier than the revoking itself); not valid.
	ValidityKeyRevoked = "invalid-key-revoked"
	// ValidityUnknownKey: signed by a key this registry has no record of.
	ValidityUnknownKey = "unknown-key"
	// ValidityBadSignature: the stored bundle no longer verifies with the key that
	// signed it. Only the certificate's page and GET /api/v1/certificates/{id} check
	// signatures again (the registry checked each at upload); searches do not.
	ValidityBadSignature = "invalid-signature"
)

// KeyRevocation is the API's view of the revocation of a certificate's key.
type KeyRevocation struct {
	// Revoked is when the key was revoked.
	Revoked time.Time `json:"revoked"`
	// Effective is from when the revocation holds: certificates the registry
	// received from then on are not valid.
	Effective time.Time `json:"effective"`
	Reason    string    `json:"reason"`
}

// CertificateInfo is the API's view of a stored certificate. Validity is one of the
// Validity constants and ValidityReason says why; KeyName is the name the signing key
// was enrolled under, and KeyRevocation its revocation, if it is revoked.
type CertificateInfo struct {
	ID             string    `json:"id"`
	Status         string    `json:"status"`
	Outcome        string    `json:"outcome"`
	Serial         string    `json:"serial,omitempty"`
	WWN            string    `json:"wwn,omitempty"`
	AssetNumber    string    `json:"asset_number,omitempty"`
	Method         string    `json:"method"`
	Organization   string    `json:"organization,omitempty"`
	Customer       string    `json:"customer,omitempty"`
	KeyFingerprint string    `json:"key_fingerprint"`
	Issued         time.Time `json:"issued"`
	Received       time.Time `json:"received"`
	// Clock compares Issued (the agent's clock) with Received, the time the
	// registry logged the certificate (its own clock), and flags a skew.
	Clock ClockCheck `json:"clock"`
	// Logged is the signed evidence of the logged time (GET of one certificate only).
	Logged         *LoggedTime               `json:"logged,omitempty"`
	LogIndex       *uint64                   `json:"log_index,omitempty"`
	KeyName        string                    `json:"key_name,omitempty"`
	KeyRevocation  *KeyRevocation            `json:"key_revocation,omitempty"`
	Validity       string                    `json:"validity"`
	ValidityReason string                    `json:"validity_reason"`
	Certificate    *certificates.Certificate `json:"certificate,omitempty"`
}

// info is the API's view of rec. keys are the enrolled keys by fingerprint. full
// adds the certificate itself and checks its signature again.
func info(rec store.Record, keys map[string]store.Key, full bool) CertificateInfo {
	ci := CertificateInfo{ID: rec.ID, Status: rec.Status, Outcome: rec.Outcome, Serial: rec.Serial, WWN: rec.WWN,
		AssetNumber: rec.AssetNumber, Method: rec.Method, Organization: rec.Organization, Customer: rec.Customer,
		KeyFingerprint: rec.KeyFingerprint, Issued: rec.Issued, Received: rec.Received, LogIndex: rec.LogIndex}
	key, known := keys[rec.KeyFingerprint]
	ci.Validity, ci.ValidityReason = judge(rec, key, known)
	if known {
		ci.KeyName = key.Name
		if !key.Revoked.IsZero() {
			ci.KeyRevocation = &KeyRevocation{Revoked: key.Revoked, Effective: key.RevokedFrom, Reason: key.RevokeReason}
		}
	}
	if full {
		if c, _, err := certificates.Inspect(rec.Bundle); err == nil {
			ci.Certificate = c
		}
		if known {
			if _, err := certificates.Verify(rec.Bundle, []crypto.PublicKey{key.PublicKey}); err != nil {
				ci.Validity = ValidityBadSignature
				ci.ValidityReason = "NOT valid: the signature does not verify with the key " + keyLabel(key) + " named as its signer: " + err.Error()
			}
		}
	}
	return ci
}

// judge says whether a certificate is valid as far as its signing key goes, and why:
// by the time the registry received it, against the key's revocation.
func judge(rec store.Record, key store.Key, known bool) (validity, reason string) {
	if !known {
		return ValidityUnknownKey, "NOT valid: signed with the key " + rec.KeyFingerprint + ", which is not enrolled with this registry"
	}
	if key.Revoked.IsZero() {
		return ValidityValid, "valid: signed with the enrolled key " + keyLabel(key)
	}
	why := key.RevokeReason
	if why == "" {
		why = "no reason recorded"
	}
	if key.ValidFor(rec.Received) {
		return ValidityKeyRevokedLater, "valid: signed with the key " + keyLabel(key) + ", revoked later, effective " +
			utcStamp(key.RevokedFrom) + ": " + why + "; the registry received this certificate on " + utcStamp(rec.Received) +
			", before the revocation took effect"
	}
	return ValidityKeyRevoked, "NOT valid: signed with the key " + keyLabel(key) + ", revoked effective " + utcStamp(key.RevokedFrom) +
		": " + why + "; the registry received this certificate on " + utcStamp(rec.Received) + ", after the revocation took effect"
}

func keyLabel(k store.Key) string {
	if k.Name == "" {
		return k.Fingerprint
	}
	return k.Fingerprint + " (" + k.Name + ")"
}

// utcStamp is how the registry shows a time to people, to the microsecond it
// stores when there is a fraction.
func utcStamp(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05.999999 UTC")
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (store.Record, bool) {
	rec, err := s.store.GetCertificate(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusNotFound, "no certificate with ID %q", r.PathValue("id"))
		return rec, false
	case err != nil:
		s.internal(w, r, err)
		return rec, false
	}
	return rec, true
}

func (s *Server) getCertificate(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.lookup(w, r)
	if !ok {
		return
	}
	keys, err := s.keys.all(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	ci := s.info(rec, keys, true)
	if rec.LogIndex != nil {
		if ci.Logged, err = s.loggedTime(r.Context(), rec, *rec.LogIndex); err != nil {
			s.internal(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, ci)
}

func (s *Server) getBundle(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.lookup(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", rec.ID+".sigstore.json"))
	_, _ = w.Write(rec.Bundle)
}

func (s *Server) getPDF(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.lookup(w, r)
	if !ok {
		return
	}
	c, _, err := certificates.Inspect(rec.Bundle)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	page := ""
	if s.publicURL != "" {
		page = CertificatePage(s.publicURL, rec.ID)
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", rec.ID+".pdf"))
	if err := certificates.WritePDF(w, c, rec.KeyFingerprint, rec.ID+".sigstore.json", page); err != nil {
		s.logger.Error("render PDF", "id", rec.ID, "err", err)
	}
}

func (s *Server) getProof(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if rec.LogIndex == nil {
		writeError(w, http.StatusAccepted, "certificate %s is stored but not yet in the log", rec.ID)
		return
	}
	receipt, err := s.receipt(r.Context(), rec, *rec.LogIndex)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, receipt)
}

// SearchResult is a page of search results.
type SearchResult struct {
	Certificates []CertificateInfo `json:"certificates"`
	Next         string            `json:"next,omitempty"`
}

// query reads a search from URL parameters; a bad one is a 400.
func query(r *http.Request) (store.Query, error) {
	v := r.URL.Query()
	q := store.Query{Serial: v.Get("serial"), WWN: v.Get("wwn"), AssetNumber: v.Get("asset"), ID: v.Get("id"),
		Outcome: v.Get("outcome"), Method: v.Get("method"), Organization: v.Get("organization"),
		Customer: v.Get("customer"), Cursor: v.Get("cursor")}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if s := v.Get(t.name); s != "" {
			parsed, err := parseTime(s)
			if err != nil {
				return q, fmt.Errorf("%s: want a date (2006-01-02) or an RFC 3339 time", t.name)
			}
			*t.dst = parsed
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return q, errors.New("limit: want a positive number")
		}
		q.Limit = n
	}
	return q, nil
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02", s)
}

// searchStore runs a search for an API answer: a query the store refuses is the
// client's error (400), any other failure the server's. false means it answered.
func (s *Server) searchStore(w http.ResponseWriter, r *http.Request, q store.Query) (store.Page, bool) {
	page, err := s.store.Search(r.Context(), q)
	switch {
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, "bad search: %v", err)
		return page, false
	case err != nil:
		s.internal(w, r, err)
		return page, false
	}
	return page, true
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	if f := r.URL.Query().Get("format"); f != "" && f != "json" {
		s.export(w, r, f)
		return
	}
	q, err := query(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	page, ok := s.searchStore(w, r, q)
	if !ok {
		return
	}
	keys, err := s.keys.all(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	res := SearchResult{Certificates: []CertificateInfo{}, Next: page.Next}
	for _, rec := range page.Records {
		res.Certificates = append(res.Certificates, s.info(rec, keys, false))
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) getCheckpoint(w http.ResponseWriter, r *http.Request) {
	cp, err := s.log.Checkpoint(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(cp)
}

func (s *Server) getLogKey(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, s.logKey+"\n")
}

func (s *Server) getConsistency(w http.ResponseWriter, r *http.Request) {
	from, err1 := strconv.ParseUint(r.URL.Query().Get("from"), 10, 64)
	to, err2 := strconv.ParseUint(r.URL.Query().Get("to"), 10, 64)
	if err1 != nil || err2 != nil || from > to {
		writeError(w, http.StatusBadRequest, "want from and to tree sizes, from <= to")
		return
	}
	proof, err := s.log.ConsistencyProof(r.Context(), from, to)
	switch {
	case errors.Is(err, tlog.ErrOutOfRange):
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	case err != nil:
		s.internal(w, r, err)
		return
	}
	res := ConsistencyProof{From: from, To: to, Proof: make([]string, len(proof))}
	for i, h := range proof {
		res.Proof[i] = base64.StdEncoding.EncodeToString(h)
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		writeError(w, http.StatusServiceUnavailable, "store not ready: %v", err)
		return
	}
	if _, err := s.log.Checkpoint(ctx); err != nil {
		writeError(w, http.StatusServiceUnavailable, "log not ready: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// keyCache keeps the enrolled keys for a moment: every upload needs the active
// ones, and every certificate shown needs its key's state. A key revoked on one
// instance is refused, and its revocation shown, by all within keyCacheTTL.
type keyCache struct {
	store   store.Store
	ttl     time.Duration
	mu      sync.Mutex
	fetched time.Time
	keys    map[string]store.Key // every key, revoked ones too, by fingerprint
	pubs    []crypto.PublicKey   // the active keys
}

const keyCacheTTL = 2 * time.Second

// refresh fetches the keys unless the cached ones are fresh; k.mu is held.
func (k *keyCache) refresh(ctx context.Context) error {
	if k.keys != nil && time.Since(k.fetched) < k.ttl {
		return nil
	}
	ks, err := k.store.Keys(ctx)
	if err != nil {
		return err
	}
	byFP := make(map[string]store.Key, len(ks))
	active := make([]crypto.PublicKey, 0, len(ks))
	for _, key := range ks {
		byFP[key.Fingerprint] = key
		if key.Revoked.IsZero() {
			active = append(active, key.PublicKey)
		}
	}
	k.keys, k.pubs, k.fetched = byFP, active, time.Now()
	return nil
}

// active returns the public keys that are not revoked: those an upload may be
// signed with.
func (k *keyCache) active(ctx context.Context) ([]crypto.PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.refresh(ctx); err != nil {
		return nil, err
	}
	return k.pubs, nil
}

// all returns every enrolled key, revoked ones too, by fingerprint. The map is
// shared: callers only read it.
func (k *keyCache) all(ctx context.Context) (map[string]store.Key, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.refresh(ctx); err != nil {
		return nil, err
	}
	return k.keys, nil
}
