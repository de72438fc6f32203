// Package wire is what the qemutest harness and its guest init agree on: where the init finds
// its orders in the initramfs, and the markers it frames the command's output with on the
// serial console.
package wire

// ConfigPath is the guest init's orders, a JSON Config, in the initramfs.
const ConfigPath = "/qemutest.json"

// ModulesDir holds the kernel modules, uncompressed, in the initramfs.
const ModulesDir = "/modules"

// Config tells the guest init what to do.
type Config struct {
	// Modules are loaded in this order (dependencies first).
	Modules []Module `json:"modules"`
	// Disks is how many disks to wait for in /sys/block before running the command.
	Disks int `json:"disks"`
	// WaitSeconds bounds that wait.
	WaitSeconds int `json:"wait_seconds"`
	// Args is the command; Args[0] is a path in the initramfs.
	Args []string `json:"args"`
	// Env is added to the command's environment (KEY=value).
	Env []string `json:"env,omitempty"`
}

// Module is one kernel module file under ModulesDir.
type Module struct {
	Name string `json:"name"`
	File string `json:"file"`
}

// Console markers. Each starts a line; every line of the command's output is written as one
// console line behind Stdout or Stderr.
const (
	Info   = "@@qemutest: "         // progress of the init, for the log
	Fail   = "@@qemutest-fail: "    // the init could not run the command; the reason follows
	Begin  = "@@qemutest-begin"     // the command starts
	End    = "@@qemutest-end exit=" // the command ended; its exit code follows (-1: killed by a signal)
	Stdout = "@@o "                 // one line the command wrote to stdout
	Stderr = "@@e "                 // one line the command wrote to stderr
)
