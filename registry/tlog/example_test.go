package tlog_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"

	"github.com/decom-project/decom/registry/tlog"
)

// A registry logs two uploads in a log in a temporary directory and serves its tiles; an
// auditor, holding only the registry's verifier key, checks the published checkpoint and
// that the second upload is in the tree it commits to, and that altered bytes are not.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "tlog-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	skey, vkey, err := tlog.GenerateKey("decom.example/registry")
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	uploads := [][]byte{[]byte(`{"certificate":"first"}`), []byte(`{"certificate":"second"}`)}

	// The registry.
	signer, err := note.NewSigner(skey) // skey from GenerateKey, kept secret
	if err != nil {
		fmt.Println(err)
		return
	}
	l, err := tlog.Open(ctx, filepath.Join(dir, "log"), signer)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()
	mux.Handle("/log/", http.StripPrefix("/log", l.TileHandler()))
	var idx uint64
	for _, bundleJSON := range uploads {
		idx, err = l.Append(ctx, bundleJSON) // acknowledge the upload after this returns
		if err != nil {
			fmt.Println(err)
			return
		}
	}
	bundleJSON := uploads[1]
	fmt.Println("logged at index", idx)

	// The auditor.
	srv := httptest.NewServer(mux)
	defer srv.Close()
	checkpointBytes, err := get(srv.URL + "/log/checkpoint")
	if err != nil {
		fmt.Println(err)
		return
	}
	cp, err := tlog.VerifyCheckpoint(checkpointBytes, vkey)
	if err != nil {
		fmt.Println(err)
		return
	}
	proof, err := l.InclusionProof(ctx, idx, cp.Size) // the registry's API serves it
	if err != nil {
		fmt.Println(err)
		return
	}
	err = tlog.VerifyInclusion(bundleJSON, idx, proof, cp)
	fmt.Printf("checkpoint of %s: %d entries; entry %d included: %v\n", cp.Origin, cp.Size, idx, err == nil)
	err = tlog.VerifyInclusion([]byte(`{"certificate":"altered"}`), idx, proof, cp)
	fmt.Println("altered entry refused:", errors.Is(err, tlog.ErrInvalidProof))
	// Output:
	// logged at index 1
	// checkpoint of decom.example/registry: 2 entries; entry 1 included: true
	// altered entry refused: true
}

// get returns the body of a successful GET of url.
func get(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}
