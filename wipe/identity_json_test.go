package wipe

import (
	"encoding/json"
	"testing"

	"github.com/decom-project/decom/inventory"
)

// Inode numbers go into records and plans as JSON strings: overlayfs and large XFS
// filesystems hand out inodes above 2^53, which float-based JSON readers (jq,
// JavaScript) change. Records written with plain numbers still read.
func TestIdentityInodesAreStrings(t *testing.T) {
	const inode = 1<<63 + 5
	id := Identity{DevNo: "0:42", SizeBytes: 4096, Inode: inode,
		Backing: &inventory.Backing{FSDevNo: "0:42", Inode: inode}}
	b, err := json.Marshal(id)
	if err != nil {
		t.Fatal(err)
	}
	var generic struct {
		Inode   any `json:"inode"`
		Backing struct {
			Inode any `json:"inode"`
		} `json:"backing"`
	}
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	if generic.Inode != "9223372036854775813" || generic.Backing.Inode != "9223372036854775813" {
		t.Errorf("a float-based reader sees inode %v and backing inode %v in %s", generic.Inode, generic.Backing.Inode, b)
	}
	var back Identity
	if err := json.Unmarshal(b, &back); err != nil || back.Inode != inode || back.Backing.Inode != inode {
		t.Errorf("read back %+v (backing %+v): %v", back, back.Backing, err)
	}
	var old Identity
	if err := json.Unmarshal([]byte(`{"dev_no":"0:42","size_bytes":4096,"inode":1234}`), &old); err != nil || old.Inode != 1234 {
		t.Errorf("a record with a numeric inode reads as %+v: %v", old, err)
	}
}
