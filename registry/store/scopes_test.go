package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseScopes(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Scopes
	}{
		{"upload", ScopeUpload}, {"read", ScopeRead}, {"admin", ScopeAdmin},
		{"upload,read", ScopeUpload | ScopeRead}, {" Read , upload ", ScopeUpload | ScopeRead},
		{"admin,read,upload", ScopeUpload | ScopeRead | ScopeAdmin}, {"read,read", ScopeRead},
	} {
		got, err := ParseScopes(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseScopes(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
		if back, err := ParseScopes(got.String()); err != nil || back != got {
			t.Errorf("ParseScopes(%q.String() = %q) = %v, %v", c.in, got.String(), back, err)
		}
	}
	for _, bad := range []string{"", ",", "write", "upload,", "upload;read", "all"} {
		if got, err := ParseScopes(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseScopes(%q) = %v, %v; want ErrInvalid", bad, got, err)
		}
	}
	if (ScopeUpload | ScopeRead).Has(ScopeAdmin) || !(ScopeUpload | ScopeRead).Has(ScopeRead) || ScopeRead.Has(ScopeRead|ScopeUpload) || ScopeRead.Has(0) {
		t.Error("Has answers wrongly")
	}
	b, err := json.Marshal(TokenInfo{Name: "x", Scopes: ScopeUpload | ScopeAdmin})
	if err != nil || !json.Valid(b) || !strings.Contains(string(b), `"Scopes":"upload,admin"`) {
		t.Errorf("TokenInfo as JSON: %s, %v", b, err)
	}
}

// testTokenScopes: a token checks with the scopes it was made with; no scopes
// means upload alone; unknown scope bits are refused.
func testTokenScopes(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	for _, c := range []struct {
		name   string
		scopes []Scopes
		want   Scopes
	}{
		{"agent", nil, ScopeUpload},
		{"auditor", []Scopes{ScopeRead}, ScopeRead},
		{"both", []Scopes{ScopeUpload, ScopeRead}, ScopeUpload | ScopeRead},
		{"ops", []Scopes{ScopeAdmin | ScopeRead}, ScopeRead | ScopeAdmin},
	} {
		tok, err := s.CreateToken(ctx, c.name, c.scopes...)
		if err != nil {
			t.Fatalf("CreateToken(%s, %v): %v", c.name, c.scopes, err)
		}
		tk, err := s.CheckToken(ctx, tok)
		if err != nil || tk.Name != c.name || tk.Scopes != c.want || tk.Created.IsZero() {
			t.Errorf("CheckToken(%s's token) = %+v, %v; want scopes %v", c.name, tk, err, c.want)
		}
	}
	list, err := s.ListTokens(ctx)
	if err != nil || len(list) != 4 {
		t.Fatalf("ListTokens: %+v, %v", list, err)
	}
	want := map[string]Scopes{"agent": ScopeUpload, "auditor": ScopeRead, "both": ScopeUpload | ScopeRead, "ops": ScopeRead | ScopeAdmin}
	for _, ti := range list {
		if ti.Scopes != want[ti.Name] {
			t.Errorf("ListTokens: %s has %v, want %v", ti.Name, ti.Scopes, want[ti.Name])
		}
	}
	for _, bad := range [][]Scopes{{0}, {1 << 5}, {ScopeRead | 1<<7}} {
		if _, err := s.CreateToken(ctx, "bad", bad...); !errors.Is(err, ErrInvalid) {
			t.Errorf("CreateToken(scopes %v): %v, want ErrInvalid", bad, err)
		}
	}
}

// testMigrateTokenScopes: a token made before tokens had scopes keeps what it
// could do, uploading, and nothing more.
func testMigrateTokenScopes(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	ss := s.(*sqlStore)
	// Back to version 4, as a registry of before left the database, with a token
	// made then.
	for _, stmt := range []string{
		`ALTER TABLE certificates DROP COLUMN log_checkpoint`, // version 6
		`ALTER TABLE api_tokens DROP COLUMN scopes`,
		`DROP TABLE webhook_deliveries`, // version 7
		`DROP TABLE webhook_endpoints`,
		`DROP TABLE job_certificates`, // version 8
		`DROP TABLE job_plans`,
		`DELETE FROM schema_migrations WHERE version >= 5`,
	} {
		if _, err := ss.w.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	tok := TokenPrefix + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	if _, err := ss.w.ExecContext(ctx, `INSERT INTO api_tokens (name, hash, created) VALUES ($1, $2, $3)`,
		"old-agent", tokenHash(tok), ss.d.timeArg(ss.stamp())); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	tk, err := open(t).CheckToken(ctx, tok)
	if err != nil || tk.Name != "old-agent" || tk.Scopes != ScopeUpload {
		t.Errorf("a token of before, after migrating: %+v, %v; want old-agent with upload alone", tk, err)
	}
}
