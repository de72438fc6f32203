package wipe

import (
	"fmt"
	"slices"
	"strings"
)

// NIST SP 800-88 sanitization categories.
const (
	ClassClear   = "clear"   // protects against simple, non-invasive recovery
	ClassPurge   = "purge"   // protects against laboratory attack
	ClassDestroy = "destroy" // the media cannot be used again
	ClassNone    = "none"    // no NIST claim: a custom sequence
)

// Method is a named overwrite method: a pass sequence from a published standard.
type Method struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	// Standard names the document that defines the method.
	Standard string    `json:"standard"`
	Passes   []Pattern `json:"passes"`
	// Verify says whether the standard requires the result to be read back.
	Verify bool `json:"verify"`
	// NISTClass is what NIST SP 800-88 credits an overwrite with. Overwriting is a
	// Clear technique on magnetic and flash media alike; it is never a Purge of
	// flash, whose spare and remapped blocks no overwrite reaches.
	NISTClass string `json:"nist_class"`
	Notes     string `json:"notes,omitempty"`
}

var (
	x00 = Fixed(0x00)
	xff = Fixed(0xff)
	x55 = Fixed(0x55)
	xaa = Fixed(0xaa)
	rnd = Random()
)

// gutmannPasses is Peter Gutmann's 35-pass sequence (1996): four random passes, the
// 27 passes aimed at MFM and RLL encodings in the order of his table, four random.
func gutmannPasses() []Pattern {
	ps := []Pattern{rnd, rnd, rnd, rnd, x55, xaa,
		Fixed(0x92, 0x49, 0x24), Fixed(0x49, 0x24, 0x92), Fixed(0x24, 0x92, 0x49)}
	for v := 0; v <= 0xff; v += 0x11 {
		ps = append(ps, Fixed(byte(v)))
	}
	ps = append(ps,
		Fixed(0x92, 0x49, 0x24), Fixed(0x49, 0x24, 0x92), Fixed(0x24, 0x92, 0x49),
		Fixed(0x6d, 0xb6, 0xdb), Fixed(0xb6, 0xdb, 0x6d), Fixed(0xdb, 0x6d, 0xb6),
		rnd, rnd, rnd, rnd)
	return ps
}

// catalogue lists the methods in the order decom methods shows them.
var catalogue = []Method{
	{Name: "zero", Title: "One pass of zeros", Standard: "-", Passes: []Pattern{x00}, NISTClass: ClassClear},
	{Name: "one", Title: "One pass of 0xFF", Standard: "-", Passes: []Pattern{xff}, NISTClass: ClassClear},
	{Name: "random", Title: "One pass of AES-CTR random data", Standard: "-", Passes: []Pattern{rnd}, NISTClass: ClassClear},
	{Name: MethodNISTClear, Title: "NIST SP 800-88 Clear by overwrite", Standard: "NIST SP 800-88 Rev. 1, Appendix A",
		Passes: []Pattern{x00}, Verify: true, NISTClass: ClassClear,
		Notes: "one pass of a fixed value over every user-addressable location, then verified"},
	{Name: "dod-3", Title: "DoD 5220.22-M (E), 3 passes", Standard: "DoD 5220.22-M (1995), table C, method E",
		Passes: []Pattern{x00, xff, rnd}, Verify: true, NISTClass: ClassClear,
		Notes: "a character, its complement, random; verified"},
	{Name: "dod-7", Title: "DoD 5220.22-M ECE, 7 passes", Standard: "DoD 5220.22-M (1995), table C, method ECE",
		Passes: []Pattern{x00, xff, rnd, Fixed(0x96), x00, xff, rnd}, Verify: true, NISTClass: ClassClear,
		Notes: "method E, then method C (one character), then method E again; verified"},
	{Name: "gutmann", Title: "Gutmann, 35 passes", Standard: "P. Gutmann, Secure Deletion of Data from Magnetic and Solid-State Memory (1996)",
		Passes: gutmannPasses(), NISTClass: ClassClear,
		Notes: "aimed at MFM/RLL drives of the 1990s; on modern drives one pass does as much"},
	{Name: "schneier", Title: "Schneier, 7 passes", Standard: "B. Schneier, Applied Cryptography (1996)",
		Passes: []Pattern{xff, x00, rnd, rnd, rnd, rnd, rnd}, NISTClass: ClassClear},
	{Name: "ops2", Title: "RCMP TSSIT OPS-II, 7 passes", Standard: "RCMP TSSIT OPS-II (2003)",
		Passes: []Pattern{x00, xff, x00, xff, x00, xff, rnd}, Verify: true, NISTClass: ClassClear,
		Notes: "a value and its complement three times, then random; verified"},
	{Name: "hmg-is5-baseline", Title: "HMG IS5 Baseline, 1 pass", Standard: "HMG Infosec Standard 5",
		Passes: []Pattern{x00}, Verify: true, NISTClass: ClassClear},
	{Name: "hmg-is5-enhanced", Title: "HMG IS5 Enhanced, 3 passes", Standard: "HMG Infosec Standard 5",
		Passes: []Pattern{x00, xff, rnd}, Verify: true, NISTClass: ClassClear,
		Notes: "zeros, ones, random; verified"},
	{Name: "vsitr", Title: "BSI VSITR, 7 passes", Standard: "BSI IT-Grundschutz VSITR",
		Passes: []Pattern{x00, xff, x00, xff, x00, xff, xaa}, NISTClass: ClassClear},
}

// Methods returns the catalogue of named methods.
func Methods() []Method {
	out := make([]Method, len(catalogue))
	for i, m := range catalogue {
		m.Passes = slices.Clone(m.Passes)
		out[i] = m
	}
	return out
}

// MethodNames lists the catalogue's names, for help texts and errors.
func MethodNames() []string {
	names := make([]string, len(catalogue))
	for i, m := range catalogue {
		names[i] = m.Name
	}
	return names
}

// LookupMethod finds a method by name: one of the catalogue's, or nist-purge.
func LookupMethod(name string) (Method, error) {
	if name == MethodNISTPurge {
		return PurgeMethod(), nil
	}
	for _, m := range Methods() {
		if m.Name == name {
			return m, nil
		}
	}
	return Method{}, fmt.Errorf("unknown method %q (known: %s, %s)", name, strings.Join(MethodNames(), ", "), MethodNISTPurge)
}

// CustomMethod wraps a --passes list, run rounds times with an optional final blank
// pass, as a method. A custom sequence claims no NIST class (ClassNone) unless the
// sequence it writes is exactly what a catalogued method writes (with some rounds,
// with or without its blank pass): then it is that method in all but name, takes
// its class and its verification requirement, and its title names it.
func CustomMethod(passes []Pattern, rounds int, blank bool) Method {
	names := make([]string, len(passes))
	for i, p := range passes {
		names[i] = p.String()
	}
	m := Method{Name: "custom", Title: "Custom pass sequence: " + strings.Join(names, ","), Standard: "-",
		Passes: slices.Clone(passes), NISTClass: ClassNone}
	if same, ok := catalogued(m.Sequence(rounds, blank)); ok {
		m.Title += " (the passes of " + same.Name + ": " + same.Title + ")"
		m.NISTClass, m.Verify, m.Standard = same.NISTClass, same.Verify, same.Standard
	}
	return m
}

// catalogued finds the first catalogued method that, with some number of rounds and
// with or without a final blank pass, writes exactly seq.
func catalogued(seq []Pattern) (Method, bool) {
	for _, m := range catalogue {
		if len(m.Passes) == 0 {
			continue
		}
		for rounds := 1; rounds*len(m.Passes) <= len(seq); rounds++ {
			for _, blank := range []bool{false, true} {
				if slices.EqualFunc(m.Sequence(rounds, blank), seq, samePattern) {
					return m, true
				}
			}
		}
	}
	return Method{}, false
}

// samePattern reports whether two passes write the same bytes: both random, or
// fixed patterns with the same repeating unit (0x0000 writes what 0x00 writes).
func samePattern(a, b Pattern) bool {
	if a.Kind != b.Kind {
		return false
	}
	return a.Kind == KindRandom || slices.Equal(period(a.Value), period(b.Value))
}

// period is the shortest unit that repeats to v.
func period(v []byte) []byte {
	for n := 1; n < len(v); n++ {
		if len(v)%n != 0 {
			continue
		}
		ok := true
		for i := n; i < len(v) && ok; i++ {
			ok = v[i] == v[i-n]
		}
		if ok {
			return v[:n]
		}
	}
	return v
}

// Sequence is the pass list a wipe runs: the method's passes rounds times, then a
// final pass of zeros when blank is set and the last pass is not zeros already.
func (m Method) Sequence(rounds int, blank bool) []Pattern {
	rounds = max(rounds, 1)
	out := make([]Pattern, 0, rounds*len(m.Passes)+1)
	for range rounds {
		out = append(out, m.Passes...)
	}
	if blank && (len(out) == 0 || !slices.Equal(out[len(out)-1].Value, x00.Value)) {
		out = append(out, x00)
	}
	return out
}
