package registry

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	flog "github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/registry/store"
	"github.com/decom-project/decom/registry/tlog"
)

// TestLoggedTimeVerifies: the receipt of an upload and GET of the certificate carry a
// logged time that verifies with the log's published key, and that an independent
// checker verifies with transparency-dev's libraries and x/mod's note alone: the
// statement and the first checkpoint are signed by the log's key, the checkpoint's
// time too, the certificate is in it, and the received time is before its second
// ended. Any change to the evidence fails.
func TestLoggedTimeVerifies(t *testing.T) {
	reg := newTestRegistry(t)
	before := time.Now()
	c := reg.certificate(t, testCert{Serial: "LOGGED-0001", Issued: time.Now().UTC().Truncate(time.Second)})
	bundle := reg.sign(t, c)
	rc, err := reg.post(t.Context(), bundle)
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	p, err := VerifyLogged(rc, bundle, reg.LogKey)
	if err != nil {
		t.Fatalf("the upload's receipt: %v\n%+v", err, rc.Logged)
	}
	if p.Received.Before(before.Add(-time.Millisecond)) || p.Received.After(after) || p.Checkpoint == nil ||
		p.InLogBefore.Before(p.Received) || p.InLogBefore.After(after.Add(time.Second)) {
		t.Errorf("proved %+v for an upload between %v and %v", p, before, after)
	}
	ci := getInfo(t, reg, c.ID)
	if ci.Logged == nil || !ci.Received.Equal(p.Received) {
		t.Fatalf("GET: logged %+v, received %v", ci.Logged, ci.Received)
	}
	if _, err := VerifyLogged(Receipt{LogIndex: *ci.LogIndex, Logged: ci.Logged}, bundle, reg.LogKey); err != nil {
		t.Errorf("GET's logged time: %v", err)
	}
	var later Receipt
	body, _ := fetch(t, reg, reg.URL+"/api/v1/certificates/"+c.ID+"/proof", http.StatusOK)
	if err := json.Unmarshal(body, &later); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyLogged(later, bundle, reg.LogKey); err != nil || later.Logged.Checkpoint != rc.Logged.Checkpoint {
		t.Errorf("the proof's logged time: %v; first checkpoint the same as the upload's: %v", err, later.Logged.Checkpoint == rc.Logged.Checkpoint)
	}

	independentCheck(t, rc, bundle, reg.LogKey)

	// Tampering.
	other, _, err := tlog.GenerateKey(reg.Origin)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := tlog.VerifierKey(other)
	if err != nil {
		t.Fatal(err)
	}
	lt := *rc.Logged
	earlier := p.Received.Add(-time.Hour)
	stamp := regexp.MustCompile(`received \S+\n`)
	for name, tc := range map[string]struct {
		change func(*LoggedTime)
		key    string
		bundle []byte
	}{
		"received time, unsigned copy": {change: func(l *LoggedTime) { l.Received = earlier }},
		"received time in the statement": {change: func(l *LoggedTime) {
			l.Statement = stamp.ReplaceAllString(l.Statement, "received "+earlier.UTC().Format(time.RFC3339Nano)+"\n")
			l.Received = earlier
		}},
		"checkpoint time": {change: func(l *LoggedTime) {
			l.Checkpoint = backdate(t, l.Checkpoint, reg.LogKey, time.Hour)
			back := l.CheckpointTime.Add(-time.Hour)
			l.CheckpointTime = &back
		}},
		"checkpoint time, unsigned copy": {change: func(l *LoggedTime) {
			back := l.CheckpointTime.Add(-time.Hour)
			l.CheckpointTime = &back
		}},
		"no statement":        {change: func(l *LoggedTime) { l.Statement = "" }},
		"another log's key":   {key: otherKey},
		"another certificate": {bundle: reg.sign(t, reg.certificate(t, testCert{Serial: "OTHER-0002"}))},
		"inclusion proof": {change: func(l *LoggedTime) {
			l.InclusionProof = append([]string{base64.StdEncoding.EncodeToString(make([]byte, 32))}, l.InclusionProof...)
		}},
	} {
		l := lt
		if tc.change != nil {
			tc.change(&l)
		}
		r := rc
		r.Logged = &l
		key := reg.LogKey
		if tc.key != "" {
			key = tc.key
		}
		b := bundle
		if tc.bundle != nil {
			b = tc.bundle
		}
		if _, err := VerifyLogged(r, b, key); !errors.Is(err, ErrInconsistent) {
			t.Errorf("%s: %v, want ErrInconsistent", name, err)
		}
	}
}

// independentCheck verifies a receipt's logged time the way an auditor without decom
// would: x/mod's note, transparency-dev's formats and merkle packages.
func independentCheck(t *testing.T, rc Receipt, bundle []byte, logKey string) {
	t.Helper()
	v, err := note.NewVerifier(logKey)
	if err != nil {
		t.Fatal(err)
	}
	st, err := note.Open([]byte(rc.Logged.Statement), note.VerifierList(v))
	if err != nil {
		t.Fatalf("the statement does not open with the log's key: %v", err)
	}
	leaf := base64.StdEncoding.EncodeToString(rfc6962.DefaultHasher.HashLeaf(bundle))
	received := rc.Logged.Received.UTC().Format(time.RFC3339Nano)
	for _, want := range []string{"index " + itoa(rc.LogIndex) + "\n", "leaf " + leaf + "\n", "received " + received + "\n"} {
		if !strings.Contains(st.Text, want) {
			t.Errorf("statement %q lacks %q", st.Text, want)
		}
	}
	tv, err := fnote.NewVerifierForCosignatureV1(logKey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open([]byte(rc.Logged.Checkpoint), note.VerifierList(v, tv))
	if err != nil || len(n.Sigs) != 2 {
		t.Fatalf("first checkpoint: %v, %d signatures verified", err, len(n.Sigs))
	}
	var when time.Time
	for _, s := range n.Sigs {
		if s.Hash == tv.KeyHash() {
			if when, err = fnote.CoSigV1Timestamp(s); err != nil {
				t.Fatal(err)
			}
		}
	}
	var cp flog.Checkpoint
	if rest, err := cp.Unmarshal([]byte(n.Text)); err != nil || len(rest) != 0 {
		t.Fatalf("first checkpoint's text: %v, extension lines %q", err, rest)
	}
	hashes := make([][]byte, len(rc.Logged.InclusionProof))
	for i, h := range rc.Logged.InclusionProof {
		if hashes[i], err = base64.StdEncoding.DecodeString(h); err != nil {
			t.Fatal(err)
		}
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, rc.LogIndex, cp.Size, rfc6962.DefaultHasher.HashLeaf(bundle), hashes, cp.Hash); err != nil {
		t.Errorf("inclusion in the first checkpoint: %v", err)
	}
	if !rc.Logged.Received.Before(when.Add(time.Second)) {
		t.Errorf("received %v, after the first checkpoint's second %v", rc.Logged.Received, when)
	}
}

// backdate moves the time inside a checkpoint's time signature back by d, keeping
// the signature bytes.
func backdate(t *testing.T, cp, logKey string, d time.Duration) string {
	t.Helper()
	tv, err := fnote.NewVerifierForCosignatureV1(logKey)
	if err != nil {
		t.Fatal(err)
	}
	var hash [4]byte
	binary.BigEndian.PutUint32(hash[:], tv.KeyHash())
	lines := strings.Split(cp, "\n")
	for i, line := range lines {
		rest, ok := strings.CutPrefix(line, "— "+tv.Name()+" ")
		if !ok {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil || len(raw) != 4+8+64 || [4]byte(raw[:4]) != hash {
			continue
		}
		ts := binary.BigEndian.Uint64(raw[4:])
		binary.BigEndian.PutUint64(raw[4:], ts-uint64(d/time.Second))
		lines[i] = "— " + tv.Name() + " " + base64.StdEncoding.EncodeToString(raw)
		return strings.Join(lines, "\n")
	}
	t.Fatalf("no time signature in\n%s", cp)
	return ""
}

var clockRe = regexp.MustCompile(`<dd id="clock" class="([^"]*)" data-flag="([^"]*)">([^<]*)</dd>`)

// TestClockSkewFlagged: a certificate issued by an agent whose clock ran an hour
// ahead, or five days behind, is flagged by the API, both searches and the
// certificate page; one issued a minute before it was logged is not.
func TestClockSkewFlagged(t *testing.T) {
	reg := newTestRegistry(t)
	now := time.Now().UTC().Truncate(time.Second)
	ahead := reg.certificate(t, testCert{Serial: "AHEAD-0001", Issued: now.Add(time.Hour)})
	behind := reg.certificate(t, testCert{Serial: "BEHIND-0002", Issued: now.Add(-5 * 24 * time.Hour)})
	right := reg.certificate(t, testCert{Serial: "RIGHT-0003", Issued: now.Add(-time.Minute)})
	reg.upload(t, ahead, behind, right)

	for _, tc := range []struct {
		c    *certificates.Certificate
		flag string
		note string
	}{
		{ahead, SkewIssuedAfterLogged, "after the registry logged it (more than 10m0s)"},
		{behind, SkewIssuedLongBeforeLogged, "CLOCK SKEW: issued 120h0m"},
		{right, "", "before logged, within 72h0m0s"},
	} {
		ci := getInfo(t, reg, tc.c.ID)
		want := tc.c.Issued.Sub(ci.Received).Seconds()
		if ci.Clock.Flag != tc.flag || !strings.Contains(ci.Clock.Note, tc.note) || ci.Clock.IssuedMinusLogged-want > 1e-3 || want-ci.Clock.IssuedMinusLogged > 1e-3 {
			t.Errorf("%s: API clock %+v, want flag %q mentioning %q, %.3f s", tc.c.Media.Serial, ci.Clock, tc.flag, tc.note, want)
		}
		body, _ := fetch(t, reg, reg.URL+"/api/v1/search?serial="+tc.c.Media.Serial, http.StatusOK)
		var res SearchResult
		if err := json.Unmarshal(body, &res); err != nil || len(res.Certificates) != 1 || res.Certificates[0].Clock != ci.Clock {
			t.Errorf("%s: API search %v: %+v, GET says %+v", tc.c.Media.Serial, err, res.Certificates, ci.Clock)
		}
		page, _ := fetch(t, reg, reg.URL+"/certificates/"+tc.c.ID, http.StatusOK)
		m := clockRe.FindSubmatch(page)
		wantClass := "ok"
		if tc.flag != "" {
			wantClass = "bad"
		}
		if m == nil || string(m[1]) != wantClass || string(m[2]) != tc.flag || !strings.Contains(string(m[3]), tc.note) {
			t.Errorf("%s: page's issued-vs-logged line %q, want class %s flag %q", tc.c.Media.Serial, m, wantClass, tc.flag)
		}
		if m := regexp.MustCompile(`<dd id="logged" class="ok">received [^<]* in the log before `).Find(page); m == nil {
			t.Errorf("%s: the page's Logged line is not a verified logged time", tc.c.Media.Serial)
		}
	}
}

// TestCheckClockLimits: the limits are exclusive, and each is its own.
func TestCheckClockLimits(t *testing.T) {
	logged := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	lim := SkewLimits{Ahead: 10 * time.Minute, Behind: 2 * time.Hour}
	for _, tc := range []struct {
		issued time.Time
		flag   string
	}{
		{logged, ""},
		{logged.Add(10 * time.Minute), ""},
		{logged.Add(10*time.Minute + time.Millisecond), SkewIssuedAfterLogged},
		{logged.Add(-2 * time.Hour), ""},
		{logged.Add(-2*time.Hour - time.Millisecond), SkewIssuedLongBeforeLogged},
	} {
		if got := CheckClock(tc.issued, logged, lim); got.Flag != tc.flag {
			t.Errorf("issued %v, logged %v: %+v, want flag %q", tc.issued, logged, got, tc.flag)
		}
	}
}

// TestRevocationByLoggedTime: a key's revocation is judged by the time the registry
// logged each certificate, never by the time the certificate says it was issued: one
// logged before the revocation took effect stays valid although its agent's clock put
// its issue after it, and one logged after is not valid although it claims to have
// been issued long before.
func TestRevocationByLoggedTime(t *testing.T) {
	reg := newTestRegistry(t)
	reg.Server.keys.mu.Lock()
	reg.Server.keys.ttl = 0
	reg.Server.keys.mu.Unlock()
	ctx := t.Context()

	now := time.Now().UTC()
	// Issued (by a clock running two days fast) after the revocation below.
	early := reg.certificate(t, testCert{Serial: "FAST-CLOCK-0001", Issued: now.Add(48 * time.Hour)})
	reg.upload(t, early)
	time.Sleep(20 * time.Millisecond)
	// Backdated to a month before the revocation, signed and logged after it.
	late := reg.certificate(t, testCert{Serial: "BACKDATED-0002", Issued: now.Add(-30 * 24 * time.Hour)})
	lateBundle := reg.sign(t, late)
	effective := time.Now().UTC().Truncate(time.Microsecond)
	time.Sleep(20 * time.Millisecond)
	rc, err := reg.post(ctx, lateBundle)
	if err != nil {
		t.Fatal(err)
	}
	const reason = "stick stolen from the van"
	if _, err := reg.Store.RevokeKey(ctx, reg.AgentFingerprint, store.Revocation{Reason: reason, Effective: effective}); err != nil {
		t.Fatal(err)
	}
	checkValidity(t, reg, early, ValidityKeyRevokedLater, reason)
	checkValidity(t, reg, late, ValidityKeyRevoked, reason)

	// What the judgement rests on is the signed logged time, which an auditor can
	// check: the late one's is after the effective time, the early one's before.
	lp, err := VerifyLogged(rc, lateBundle, reg.LogKey)
	if err != nil || !lp.Received.After(effective) {
		t.Errorf("the backdated certificate's signed logged time %v (%v), revocation effective %v", lp.Received, err, effective)
	}
	ci := getInfo(t, reg, early.ID)
	ep, err := VerifyLogged(Receipt{LogIndex: *ci.LogIndex, Logged: ci.Logged}, reg.sign(t, early), reg.LogKey)
	if err == nil {
		t.Errorf("a re-signed bundle verifies against the stored one's logged time")
	}
	body, _ := fetch(t, reg, reg.URL+"/api/v1/certificates/"+early.ID+"/bundle", http.StatusOK)
	if ep, err = VerifyLogged(Receipt{LogIndex: *ci.LogIndex, Logged: ci.Logged}, body, reg.LogKey); err != nil || !ep.Received.Before(effective) {
		t.Errorf("the fast-clock certificate's signed logged time %v (%v), revocation effective %v", ep.Received, err, effective)
	}
}
