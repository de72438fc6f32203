package certificates

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxJobLen is the longest job name, in characters.
const MaxJobLen = 128

// ValidJob checks a job name (Sanitization.Job): 1 to MaxJobLen characters of
// printable UTF-8 (spaces allowed inside, not around it), no control character.
func ValidJob(name string) error {
	switch {
	case name == "":
		return errors.New("job name is empty")
	case !utf8.ValidString(name):
		return fmt.Errorf("job name %s is not UTF-8", strconv.QuoteToASCII(name))
	case utf8.RuneCountInString(name) > MaxJobLen:
		return fmt.Errorf("job name is %d characters long: at most %d", utf8.RuneCountInString(name), MaxJobLen)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("job name %q begins or ends with a space", name)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("job name %s holds a control or unprintable character", strconv.QuoteToASCII(name))
		}
	}
	return nil
}
