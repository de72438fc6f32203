package wipe

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseLocks(t *testing.T) {
	in := `1: FLOCK  ADVISORY  WRITE 1234 00:05:123 0 EOF
1: -> FLOCK  ADVISORY  WRITE 5678 00:05:123 0 EOF
2: POSIX  ADVISORY  READ 99 fd:01:4194305 0 EOF
3: OFDLCK ADVISORY  WRITE -1 103:02:17 0 1023
4: LEASE  ACTIVE    READ 77 00:2a:9 0 EOF
5: FLOCK  ADVISORY  WRITE 12 <none>:0 0 EOF
6: FLOCK  ADVISORY  READ pid 00:05:1 0 EOF
7: FLOCK  ADVISORY  READ 13 00:zz:1 0 EOF
garbage
8:
`
	got, err := parseLocks(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []fileLock{
		{Class: "FLOCK", Access: "WRITE", PID: 1234, Major: 0, Minor: 5, Inode: 123},
		{Waiting: true, Class: "FLOCK", Access: "WRITE", PID: 5678, Major: 0, Minor: 5, Inode: 123},
		{Class: "POSIX", Access: "READ", PID: 99, Major: 0xfd, Minor: 1, Inode: 4194305},
		{Class: "OFDLCK", Access: "WRITE", PID: -1, Major: 0x103, Minor: 2, Inode: 17},
		{Class: "LEASE", Access: "READ", PID: 77, Major: 0, Minor: 0x2a, Inode: 9},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseLocks:\n got %+v\nwant %+v", got, want)
	}
	// The waiter is no holder; the device numbers are hex.
	if h := holdersOf(got, 0, 5, 123); len(h) != 1 || h[0].PID != 1234 || !h[0].Exclusive() {
		t.Errorf("holders of 00:05:123: %+v", h)
	}
	if h := holdersOf(got, 0xfd, 1, 4194305); len(h) != 1 || h[0].PID != 99 || h[0].Exclusive() {
		t.Errorf("holders of fd:01:4194305: %+v", h)
	}
	if h := holdersOf(got, 0, 5, 124); len(h) != 0 {
		t.Errorf("holders of an unlocked file: %+v", h)
	}
}

func FuzzParseLocks(f *testing.F) {
	f.Add("1: FLOCK  ADVISORY  WRITE 1234 00:05:123 0 EOF\n1: -> FLOCK  ADVISORY  WRITE 5678 00:05:123 0 EOF\n")
	f.Add("3: OFDLCK ADVISORY  WRITE -1 103:02:17 0 1023\n")
	f.Add("5: FLOCK  ADVISORY  WRITE 12 <none>:0 0 EOF\n")
	f.Fuzz(func(t *testing.T, in string) {
		locks, err := parseLocks(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, l := range locks {
			if l.Class == "" || l.Access == "" {
				t.Errorf("lock without class or access from %q: %+v", in, l)
			}
		}
	})
}
