// Package wipe will hold decom's sanitization methods, the planner that maps a method
// onto a drive's capabilities, the parallel overwrite engine, the firmware sanitize
// executors and the one safety gate every write goes through. Nothing is implemented
// yet: decom does not write to any device.
package wipe
