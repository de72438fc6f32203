package jsonint

import (
	"encoding/json"
	"testing"
)

func TestUint64(t *testing.T) {
	type doc struct {
		Seed Uint64 `json:"seed,omitempty"`
	}
	const big = 1<<63 + 12345
	b, err := json.Marshal(doc{Seed: big})
	if err != nil || string(b) != `{"seed":"9223372036854788153"}` {
		t.Errorf("marshal: %s %v", b, err)
	}
	if b, _ := json.Marshal(doc{}); string(b) != `{}` {
		t.Errorf("zero with omitempty: %s", b)
	}
	for _, in := range []string{`{"seed":"9223372036854788153"}`, `{"seed":9223372036854788153}`, `{"seed": 9223372036854788153 }`} {
		var d doc
		if err := json.Unmarshal([]byte(in), &d); err != nil || d.Seed != big {
			t.Errorf("%s: %d %v", in, d.Seed, err)
		}
	}
	d := doc{Seed: 7}
	if err := json.Unmarshal([]byte(`{"seed":null}`), &d); err != nil || d.Seed != 7 {
		t.Errorf("null: %d %v", d.Seed, err)
	}
	for _, in := range []string{`{"seed":-1}`, `{"seed":1.5}`, `{"seed":1e3}`, `{"seed":"0x10"}`, `{"seed":""}`,
		`{"seed":"+5"}`, `{"seed":" 5"}`, `{"seed":"18446744073709551616"}`, `{"seed":true}`, `{"seed":[1]}`} {
		var d doc
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("%s: accepted as %d", in, d.Seed)
		}
	}
	if got := Uint64(big).String(); got != "9223372036854788153" {
		t.Errorf("String %q", got)
	}
}
