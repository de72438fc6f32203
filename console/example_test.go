package console_test

import (
	"context"
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/decom-project/decom/console"
	"github.com/decom-project/decom/sanitize"
)

// The screen of a run, as a front end wires it: the plans the person confirmed, a
// program on the terminal, and every event of the run sent to it. Compile-only: it
// needs a terminal (see decom wipe's wipe_console.go for the whole front end).
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var plans []sanitize.Plan // the confirmed plans
	var so sanitize.Options   // the run's options, from the front end's flags
	so.Confirm = func(context.Context, []sanitize.Plan) ([]sanitize.Plan, error) { return plans, nil }

	m := console.New(plans, console.Options{Abort: cancel})
	p := tea.NewProgram(m)
	so.Events = func(ev sanitize.Event) { p.Send(ev) }

	go sanitize.Run(ctx, so)
	if _, err := p.Run(); err != nil {
		fmt.Println(err)
	}
	fmt.Print(m.Summary())
}
