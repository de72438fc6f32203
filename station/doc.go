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
// listens to the station's events (Text prints them as lines; package console draws
// them full screen, from Run events that carry each drive's sanitize events).
// Uevents can be lost (a netlink socket's buffer overruns): with Rescan set, and at
// once when the Source says so (ErrEventsLost), the station compares /sys/block with
// the drives it knows and acts on the differences as the lost uevents would have.
//
//	st := station.Station{Run: base, Auto: true, Rescan: station.DefaultRescan, Events: station.Text(os.Stdout)}
//	src, err := station.NewNetlinkSource()
//	...
//	err = st.Serve(ctx, src)
package station
