package sanitize_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

// A run over one image file: the DoD 3-pass overwrite, every byte read back, no
// certificate (a Certifier would sign one per target). The front end confirms the
// plan and listens to the events; the library never prints.
func Example() {
	dir, _ := os.MkdirTemp("", "sanitize-example")
	defer os.RemoveAll(dir)
	img := filepath.Join(dir, "disk.img")
	_ = os.WriteFile(img, make([]byte, 1<<20), 0o600)

	method, _ := wipe.LookupMethod("dod-3")
	results, err := sanitize.Run(context.Background(), sanitize.Options{
		Targets: []string{img},
		Method:  method,
		Verify:  verify.Options{Mode: verify.ModeFull},
		Confirm: func(ctx context.Context, plans []sanitize.Plan) ([]sanitize.Plan, error) {
			for _, p := range plans {
				fmt.Printf("confirm: %s, %d bytes\n", filepath.Base(p.Target.Path), p.Target.Size())
			}
			return plans, nil // a person types each serial, an approved plan file matches, …
		},
		Events: func(ev sanitize.Event) {
			switch ev := ev.(type) {
			case *sanitize.Planned:
				fmt.Printf("plan: %s, %d passes\n", ev.Write.Method.Name, len(ev.Write.Passes()))
			case *sanitize.PassStarted:
				fmt.Printf("pass %d/%d: %s\n", ev.Pass, ev.Passes, ev.Pattern)
			case *sanitize.Finished:
				fmt.Printf("finished: %s, %s\n", ev.Result.Outcome, ev.Result.SanitizationOutcome)
			}
		},
	})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println("verified:", results[0].Verified)
	// Output:
	// plan: dod-3, 3 passes
	// confirm: disk.img, 1048576 bytes
	// pass 1/3: 0x00
	// pass 2/3: 0xff
	// pass 3/3: random
	// finished: completed, sanitized
	// verified: true
}
