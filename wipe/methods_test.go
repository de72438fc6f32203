package wipe

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestCatalogue(t *testing.T) {
	want := map[string]int{"zero": 1, "one": 1, "random": 1, "nist-clear": 1, "dod-3": 3, "dod-7": 7,
		"gutmann": 35, "schneier": 7, "ops2": 7, "hmg-is5-baseline": 1, "hmg-is5-enhanced": 3, "vsitr": 7}
	seen := map[string]bool{}
	for _, m := range Methods() {
		if seen[m.Name] {
			t.Errorf("%s listed twice", m.Name)
		}
		seen[m.Name] = true
		n, ok := want[m.Name]
		if !ok {
			t.Errorf("unexpected method %s", m.Name)
			continue
		}
		if len(m.Passes) != n {
			t.Errorf("%s: %d passes, want %d", m.Name, len(m.Passes), n)
		}
		if m.Title == "" || m.Standard == "" || m.NISTClass != ClassClear {
			t.Errorf("%s: title %q standard %q class %q", m.Name, m.Title, m.Standard, m.NISTClass)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d methods, want %d", len(seen), len(want))
	}
}

func TestMethodPasses(t *testing.T) {
	passes := func(name string) string {
		m, err := LookupMethod(name)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, p := range m.Passes {
			s = append(s, p.String())
		}
		return strings.Join(s, ",")
	}
	for name, want := range map[string]string{
		"nist-clear": "0x00",
		"dod-3":      "0x00,0xff,random",
		"dod-7":      "0x00,0xff,random,0x96,0x00,0xff,random",
		"schneier":   "0xff,0x00,random,random,random,random,random",
		"ops2":       "0x00,0xff,0x00,0xff,0x00,0xff,random",
		"vsitr":      "0x00,0xff,0x00,0xff,0x00,0xff,0xaa",
		"gutmann": "random,random,random,random,0x55,0xaa,0x924924,0x492492,0x249249," +
			"0x00,0x11,0x22,0x33,0x44,0x55,0x66,0x77,0x88,0x99,0xaa,0xbb,0xcc,0xdd,0xee,0xff," +
			"0x924924,0x492492,0x249249,0x6db6db,0xb6db6d,0xdb6db6,random,random,random,random",
	} {
		if got := passes(name); got != want {
			t.Errorf("%s = %s\nwant %s", name, got, want)
		}
	}
	m, _ := LookupMethod("dod-3")
	if !m.Verify {
		t.Error("dod-3 must require verification")
	}
}

func TestSequence(t *testing.T) {
	m, _ := LookupMethod("dod-3")
	seq := func(rounds int, blank bool) []string {
		var s []string
		for _, p := range m.Sequence(rounds, blank) {
			s = append(s, p.String())
		}
		return s
	}
	if got := seq(2, true); !slices.Equal(got, []string{"0x00", "0xff", "random", "0x00", "0xff", "random", "0x00"}) {
		t.Errorf("2 rounds + blank: %v", got)
	}
	if got := seq(0, false); len(got) != 3 {
		t.Errorf("rounds 0 means 1: %v", got)
	}
	z, _ := LookupMethod("zero")
	if got := z.Sequence(1, true); len(got) != 1 {
		t.Errorf("blank after zeros adds nothing: %v", got)
	}
	// The catalogue cannot be changed through what Methods returns.
	Methods()[0].Passes[0] = Random()
	if z, _ := LookupMethod("zero"); z.Passes[0].Kind != KindFixed {
		t.Error("catalogue modified through Methods()")
	}
}

func TestLookupUnknownMethod(t *testing.T) {
	_, err := LookupMethod("shred-harder")
	if err == nil || !strings.Contains(err.Error(), "dod-3") {
		t.Errorf("error %v should list the known methods", err)
	}
}

// A custom pass sequence claims no NIST class, unless what it writes is exactly a
// catalogued method's sequence (rounds and the final blank pass included): then it
// is that method, takes its class and its verification requirement, and names it.
func TestCustomMethodClaimsOnlyACataloguedClass(t *testing.T) {
	for _, c := range []struct {
		passes string
		rounds int
		blank  bool
		same   string // the catalogued method it writes, "" for none
	}{
		{"0x55,random", 1, false, ""},
		{"0x55,random", 2, true, ""},
		{"0x00,0xff", 1, false, ""},
		{"0x00,0xff", 1, true, ""},              // 0x00,0xff,0x00
		{"0xff,0x00", 2, false, ""},             // "one" with its blank pass, twice
		{"0x00,0xff,random,0x96", 1, false, ""}, // the start of dod-7
		{"0x00,0xff,random", 1, false, "dod-3"},
		{"0x00,0xff,random", 2, true, "dod-3"},
		{"0x00,0xff,random,0x00", 1, false, "dod-3"},  // dod-3 with its blank pass
		{"0x0000,0xffffff,random", 1, false, "dod-3"}, // the same bytes
		{"0x00", 1, false, "zero"},
		{"0x00", 3, true, "zero"},
		{"0xff", 1, true, "one"},
		{"random,random", 1, false, "random"},
		{"0x00,0xff,random,0x96,0x00,0xff,random", 1, false, "dod-7"},
		{"0x00,0xff,0x00,0xff,0x00,0xff,0xaa", 1, false, "vsitr"},
	} {
		passes, err := ParsePasses(c.passes)
		if err != nil {
			t.Fatal(err)
		}
		m := CustomMethod(passes, c.rounds, c.blank)
		name := fmt.Sprintf("%s ×%d blank=%v", c.passes, c.rounds, c.blank)
		if m.Name != "custom" || !strings.HasPrefix(m.Title, "Custom pass sequence: ") {
			t.Errorf("%s: name %q title %q", name, m.Name, m.Title)
		}
		if c.same == "" {
			if m.NISTClass != ClassNone || m.Verify || strings.Contains(m.Title, "(the passes of") {
				t.Errorf("%s: class %q verify %v title %q; want no class", name, m.NISTClass, m.Verify, m.Title)
			}
			continue
		}
		same, _ := LookupMethod(c.same)
		if m.NISTClass != same.NISTClass || m.Verify != same.Verify || !strings.Contains(m.Title, "(the passes of "+c.same+": ") {
			t.Errorf("%s: class %q verify %v title %q; want %s's", name, m.NISTClass, m.Verify, m.Title, c.same)
		}
	}
}
