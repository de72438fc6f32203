package verify

import (
	"encoding/json"
	"strings"
	"testing"
)

// A Result's seed is a JSON string: readers that hold numbers as float64 (jq,
// JavaScript, Python's float paths) would round a seed above 2^53, and the
// rounded seed selects other blocks. Results written before, with the seed as a
// number, still read.
func TestResultSeedJSON(t *testing.T) {
	const seed = 1<<63 + 12345
	b, err := json.Marshal(Result{Mode: ModeSample, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"seed":"9223372036854788153"`) {
		t.Errorf("seed not written as a string: %s", b)
	}
	var generic map[string]any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	if generic["seed"] != "9223372036854788153" {
		t.Errorf("a float64 reader sees %v (%T)", generic["seed"], generic["seed"])
	}
	for _, in := range []string{`{"seed":9223372036854788153}`, `{"seed":"9223372036854788153"}`} {
		var r Result
		if err := json.Unmarshal([]byte(in), &r); err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if uint64(r.Seed) != seed {
			t.Errorf("%s: seed %d", in, r.Seed)
		}
	}
	// No seed (a full read): none written.
	if b, _ := json.Marshal(Result{Mode: ModeFull}); strings.Contains(string(b), "seed") {
		t.Errorf("a full verification with a seed: %s", b)
	}
	for _, in := range []string{`{"seed":-1}`, `{"seed":1.5}`, `{"seed":"0x10"}`, `{"seed":"18446744073709551616"}`, `{"seed":1e3}`} {
		var r Result
		if err := json.Unmarshal([]byte(in), &r); err == nil {
			t.Errorf("%s: accepted as %d", in, r.Seed)
		}
	}
}
