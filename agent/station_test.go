package agent

import "testing"

// decom.mode=station is a mode of its own, not a word to ask about.
func TestCmdlineStation(t *testing.T) {
	c := ParseCmdline("quiet decom.mode=station decom.method=zero")
	if c.Mode != ModeStation || len(c.Warnings) > 0 || len(c.Errors) > 0 || c.Method != "zero" {
		t.Errorf("got %+v", c)
	}
	if c := ParseCmdline("decom.mode=stations"); c.Mode != ModeInteractive || len(c.Warnings) != 1 {
		t.Errorf("a misspelt mode: %+v", c)
	}
}
