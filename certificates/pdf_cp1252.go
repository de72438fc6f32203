package certificates

import "unicode/utf8"

// Windows-1252, the encoding of the PDF core fonts, and the nearest stand-ins for
// the characters it lacks.

// pdfText translates UTF-8 into Windows-1252, the encoding of the PDF core fonts.
// Characters it lacks become their nearest Latin letters where there is one
// ("Łódź" → "Lódz"), or "?"; control characters other than newline are dropped.
func pdfText(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r == '\n':
			b = append(b, '\n')
		case r == '\t':
			b = append(b, ' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
		case r < 0x80 || (r >= 0xa0 && r <= 0xff):
			b = append(b, byte(r))
		case r == utf8.RuneError:
			b = append(b, '?')
		default:
			if c, ok := cp1252[r]; ok {
				b = append(b, c)
			} else if t, ok := translit(r); ok {
				b = append(b, t...)
			} else {
				b = append(b, '?')
			}
		}
	}
	return string(b)
}

// cp1252 maps the characters Windows-1252 has in 0x80–0x9F, where Latin-1 has
// control codes.
var cp1252 = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, 'ˆ': 0x88,
	'‰': 0x89, 'Š': 0x8a, '‹': 0x8b, 'Œ': 0x8c, 'Ž': 0x8e, '‘': 0x91, '’': 0x92, '“': 0x93,
	'”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, 'š': 0x9a, '›': 0x9b,
	'œ': 0x9c, 'ž': 0x9e, 'Ÿ': 0x9f,
}

// latinExtA is the base letter of each character of Unicode's Latin Extended-A
// block, U+0100 to U+017F ("Ā" → "A"); a space marks one handled elsewhere.
const latinExtA = "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIi  JjKkkLlLlLlLlLlNnNnNnnNnOoOoOo  RrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs"

// translit gives an ASCII stand-in for a character Windows-1252 lacks.
func translit(r rune) (string, bool) {
	if r >= 0x100 && r <= 0x17f {
		if c := latinExtA[r-0x100]; c != ' ' {
			return string(c), true
		}
	}
	switch r {
	case 'Ĳ':
		return "IJ", true
	case 'ĳ':
		return "ij", true
	case 'Ș', 'Ş':
		return "S", true
	case 'ș', 'ş':
		return "s", true
	case 'Ț', 'Ţ':
		return "T", true
	case 'ț', 'ţ':
		return "t", true
	case 'Ǎ':
		return "A", true
	case 'ǎ':
		return "a", true
	case 'Ǐ':
		return "I", true
	case 'ǐ':
		return "i", true
	case 'Ǒ', 'Ơ':
		return "O", true
	case 'ǒ', 'ơ':
		return "o", true
	case 'Ǔ', 'Ư':
		return "U", true
	case 'ǔ', 'ư':
		return "u", true
	case 'ẞ':
		return "SS", true
	case '‐', '‑', '‒', '−', '⁃':
		return "-", true
	case '―':
		return "\x97", true
	case '\u2002', '\u2003', '\u2004', '\u2005', '\u2006', '\u2007', '\u2008', '\u2009', '\u200a', '\u202f', '\u205f', '\u3000':
		return " ", true
	case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff':
		return "", true
	case '′':
		return "'", true
	case '″':
		return "\"", true
	case '≤':
		return "<=", true
	case '≥':
		return ">=", true
	case '≠':
		return "!=", true
	case '→':
		return "->", true
	case '←':
		return "<-", true
	case '✓', '✔':
		return "yes", true
	case '✗', '✘':
		return "no", true
	}
	return "", false
}
