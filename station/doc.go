// Package station keeps decom running on a bench machine with hot-swap bays or USB
// docks: every whole disk that arrives while it runs (a kernel uevent) is
// inventoried, checked by the safety gate and, once confirmed (or at once, in auto
// mode), sanitized in its own run with its own certificate, beside the others. The
// drives present when the station starts and the boot medium are never touched,
// unless Options.IncludePresent says so for the former. A drive pulled out while it
// is being wiped ends that drive's run as aborted, and nothing else.
//
// A front end supplies a Source of uevents (NewNetlinkSource on Linux; a fake in
// tests), the sanitize options every drive's run starts from, the confirmation, and
// listens to the station's events (Text prints them as lines).
//
//	st := station.Station{Run: base, Auto: true, Events: station.Text(os.Stdout)}
//	src, err := station.NewNetlinkSource()
//	...
//	err = st.Serve(ctx, src)
package station
