package kmod

// Glob reports whether s matches the shell pattern pattern with fnmatch(3)'s semantics and no
// flags, which is how modprobe matches a device's modalias against module aliases:
//
//   - '*' matches any run of bytes, '/' and leading dots included;
//   - '?' matches any one byte;
//   - '[...]' matches one byte in the set: ranges (a-f), a leading '!' or '^' for the
//     complement, a ']' right after the opening (or the negation) is a member; a '[' with
//     no closing ']' is an ordinary byte;
//   - '\' makes the byte after it ordinary (inside a set too); a trailing '\' matches '\'.
//
// Matching is by bytes; modaliases are ASCII.
func Glob(pattern, s string) bool {
	p, i := 0, 0
	// Where to resume after the last '*': its pattern position and the next byte of s
	// it should swallow.
	starP, starI := -1, 0
	for i < len(s) || p < len(pattern) {
		if p < len(pattern) {
			switch c := pattern[p]; c {
			case '*':
				for p < len(pattern) && pattern[p] == '*' {
					p++
				}
				starP, starI = p, i
				continue
			case '?':
				if i < len(s) {
					p++
					i++
					continue
				}
			case '[':
				if i < len(s) {
					if ok, next, valid := matchSet(pattern, p, s[i]); valid {
						if ok {
							p = next
							i++
							continue
						}
						break
					}
				}
				// An unclosed '[' is an ordinary byte.
				if i < len(s) && s[i] == '[' {
					p++
					i++
					continue
				}
			case '\\':
				lit := byte('\\')
				n := p + 1
				if n < len(pattern) {
					lit = pattern[n]
					n++
				}
				if i < len(s) && s[i] == lit {
					p = n
					i++
					continue
				}
			default:
				if i < len(s) && s[i] == c {
					p++
					i++
					continue
				}
			}
		}
		// Mismatch: let the last '*' swallow one more byte, if there is one to swallow.
		if starP >= 0 && starI < len(s) {
			starI++
			p, i = starP, starI
			continue
		}
		return false
	}
	return true
}

// matchSet matches byte c against the set that opens at pattern[p] == '['. valid is false
// when the set has no closing ']'; otherwise next is the pattern position after it.
func matchSet(pattern string, p int, c byte) (ok bool, next int, valid bool) {
	j := p + 1
	negate := false
	if j < len(pattern) && (pattern[j] == '!' || pattern[j] == '^') {
		negate = true
		j++
	}
	first := true
	for {
		if j >= len(pattern) {
			return false, 0, false
		}
		lo := pattern[j]
		if lo == ']' && !first {
			return ok != negate, j + 1, true
		}
		first = false
		if lo == '\\' && j+1 < len(pattern) {
			j++
			lo = pattern[j]
		}
		j++
		hi := lo
		if j+1 < len(pattern) && pattern[j] == '-' && pattern[j+1] != ']' {
			hi = pattern[j+1]
			j += 2
			if hi == '\\' && j < len(pattern) {
				hi = pattern[j]
				j++
			}
		}
		if lo <= c && c <= hi {
			ok = true
		}
	}
}
