package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/decom-project/decom/internal/sysfstest"
)

// TestScanFakeHosts scans the fake machines in testdata/hosts and compares every
// device with the host's expect.json. Each expected object names only the fields it
// checks; a listed device without an expectation, or the reverse, fails the test.
func TestScanFakeHosts(t *testing.T) {
	files, err := filepath.Glob("testdata/hosts/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 6 {
		t.Fatalf("want at least six fake hosts, found %d", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			root, ar := sysfstest.Load(t, file)
			var want []map[string]any
			i := slices.IndexFunc(ar.Files, func(f txtar.File) bool { return f.Name == "expect.json" })
			if i < 0 {
				t.Fatal("no expect.json")
			}
			if err := json.Unmarshal(ar.Files[i].Data, &want); err != nil {
				t.Fatalf("expect.json: %v", err)
			}
			devs, err := Scan(context.Background(), Options{Root: root})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]map[string]any{}
			for _, d := range devs {
				got[d.Name] = asJSONMap(t, d)
			}
			for _, w := range want {
				name, _ := w["name"].(string)
				g, ok := got[name]
				if !ok {
					t.Errorf("%s: not listed", name)
					continue
				}
				delete(got, name)
				compareSubset(t, name, w, g)
			}
			for name := range got {
				t.Errorf("%s: listed but not expected", name)
			}
		})
	}
}

// compareSubset checks that every key of want has the same value in got; arrays of
// objects are compared element by element the same way.
func compareSubset(t *testing.T, where string, want, got map[string]any) {
	t.Helper()
	for k, w := range want {
		g := got[k]
		wl, wIsList := w.([]any)
		gl, gIsList := g.([]any)
		if wIsList && gIsList && len(wl) == len(gl) && len(wl) > 0 {
			if _, ok := wl[0].(map[string]any); ok {
				for i := range wl {
					wm, _ := wl[i].(map[string]any)
					gm, _ := gl[i].(map[string]any)
					compareSubset(t, where+"."+k+"["+strconv.Itoa(i)+"]", wm, gm)
				}
				continue
			}
		}
		if !reflect.DeepEqual(w, g) {
			t.Errorf("%s.%s = %v, want %v", where, k, g, w)
		}
	}
}

func asJSONMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// A device that disappears between the listing and the reading of its details is
// left out of a scan, and a lookup of it says it vanished.
func TestDeviceVanishesDuringScan(t *testing.T) {
	root, _ := sysfstest.Load(t, "testdata/hosts/sata-ahci.txtar")
	vanish := func() {
		if err := os.Remove(filepath.Join(root, "sys", "block", "sdb")); err != nil {
			t.Fatal(err)
		}
	}
	devs, err := Scan(context.Background(), Options{Root: root, afterList: vanish})
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(devs, func(d Device) bool { return d.Name == "sdb" }) {
		t.Error("vanished sdb still listed")
	}
	if !slices.ContainsFunc(devs, func(d Device) bool { return d.Name == "sda" }) {
		t.Error("sda lost with sdb")
	}

	root, _ = sysfstest.Load(t, "testdata/hosts/sata-ahci.txtar")
	devNo := readString(filepath.Join(root, "sys", "block", "sdb", "dev"))
	_, err = lookupDevNo(context.Background(), Options{Root: root, afterList: func() {
		if err := os.Remove(filepath.Join(root, "sys", "block", "sdb")); err != nil {
			t.Fatal(err)
		}
	}}, "/dev/sdb", devNo)
	if !errors.Is(err, ErrVanished) {
		t.Errorf("lookup of a vanishing device: %v, want ErrVanished", err)
	}
}
