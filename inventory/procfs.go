package inventory

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// mountEntry is one line of /proc/self/mountinfo.
type mountEntry struct {
	DevNo      string // major:minor of the filesystem's device
	MountPoint string
	FSType     string
	Source     string
}

// parseMountinfo reads /proc/self/mountinfo (proc(5)). Malformed lines are skipped: the
// kernel writes this file, and one odd line must not hide the others.
func parseMountinfo(r io.Reader) ([]mountEntry, error) {
	var out []mountEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// id parent maj:min root mountpoint options [optional...] - fstype source superopts
		sep := -1
		for i := 6; i < len(fields); i++ {
			if fields[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+2 >= len(fields) {
			continue
		}
		if !strings.Contains(fields[2], ":") {
			continue
		}
		out = append(out, mountEntry{
			DevNo:      fields[2],
			MountPoint: unescapeOctal(fields[4]),
			FSType:     fields[sep+1],
			Source:     unescapeOctal(fields[sep+2]),
		})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return out, nil
}

// parseSwaps reads /proc/swaps and returns the active swap areas' file names.
func parseSwaps(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			first = false
			if strings.HasPrefix(line, "Filename") {
				continue
			}
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		out = append(out, unescapeOctal(fields[0]))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read swaps: %w", err)
	}
	return out, nil
}

// unescapeOctal undoes the kernel's \ooo escaping of spaces, tabs, newlines and
// backslashes in paths shown under /proc.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] >= '0' && s[i+1] <= '3' && isOctal(s[i+2]) && isOctal(s[i+3]) {
			v := (s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0')
			b.WriteByte(v)
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
