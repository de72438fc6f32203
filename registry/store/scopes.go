package store

import (
	"fmt"
	"strings"
)

// Scopes are what an API token may do: a set of ScopeUpload, ScopeRead and
// ScopeAdmin. A token holds any number of them.
type Scopes uint8

const (
	// ScopeUpload may upload certificates (POST /api/v1/certificates) and
	// receives each upload's receipt: what an agent needs.
	ScopeUpload Scopes = 1 << iota
	// ScopeRead may read certificates: their pages, bundles, PDFs, proofs and
	// searches, when the registry does not serve them to anyone.
	ScopeRead
	// ScopeAdmin may read the registry's operational data (/metrics).
	ScopeAdmin
)

// scopeNames are the scopes' names, in the order they are written.
var scopeNames = []struct {
	s    Scopes
	name string
}{{ScopeUpload, "upload"}, {ScopeRead, "read"}, {ScopeAdmin, "admin"}}

// ScopeNames lists the names ParseScopes takes.
const ScopeNames = "upload, read, admin"

// ParseScopes reads scope names separated by commas ("upload,read"); it refuses
// an unknown name and an empty list.
func ParseScopes(s string) (Scopes, error) {
	var out Scopes
	for part := range strings.SplitSeq(s, ",") {
		part = strings.ToLower(strings.TrimSpace(part))
		found := false
		for _, n := range scopeNames {
			if part == n.name {
				out |= n.s
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("%w: scope %s: want a list of %s", ErrInvalid, quote(part), ScopeNames)
		}
	}
	return out, nil
}

// Has reports whether s holds every scope of want.
func (s Scopes) Has(want Scopes) bool { return want != 0 && s&want == want }

// String names the scopes, separated by commas ("upload,read"); "" for none.
func (s Scopes) String() string {
	var names []string
	for _, n := range scopeNames {
		if s&n.s != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ",")
}

// MarshalText writes the scopes as String does, so that JSON shows names.
func (s Scopes) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads what MarshalText wrote.
func (s *Scopes) UnmarshalText(b []byte) error {
	v, err := ParseScopes(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// valid reports whether s holds at least one known scope and nothing else.
func (s Scopes) valid() bool {
	return s != 0 && s&^(ScopeUpload|ScopeRead|ScopeAdmin) == 0
}
