package qemutest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// Monitor is QEMU's machine protocol (QMP) while the guest runs, and the guest's
// serial console so far: a test hot-plugs and unplugs devices with it, at the moments
// the console shows (Config.Monitor).
type Monitor struct {
	conn    net.Conn
	rd      *bufio.Reader
	mu      sync.Mutex // one command at a time
	console fmt.Stringer
}

// Execute runs one QMP command with its arguments (nil for none) and returns its
// "return" value, or the error QEMU answered.
func (m *Monitor) Execute(command string, args any) (json.RawMessage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	req := map[string]any{"execute": command}
	if args != nil {
		req["arguments"] = args
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if _, err := m.conn.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("qmp %s: %w", command, err)
	}
	for {
		line, err := m.rd.ReadBytes('\n')
		if err != nil {
			return nil, fmt.Errorf("qmp %s: %w", command, err)
		}
		var resp struct {
			Event  string          `json:"event"`
			Return json.RawMessage `json:"return"`
			Error  *struct {
				Class string `json:"class"`
				Desc  string `json:"desc"`
			} `json:"error"`
		}
		if err := json.Unmarshal(line, &resp); err != nil {
			return nil, fmt.Errorf("qmp %s: %w in %q", command, err, line)
		}
		switch {
		case resp.Event != "":
			continue // asynchronous events are not answers
		case resp.Error != nil:
			return nil, fmt.Errorf("qmp %s: %s: %s", command, resp.Error.Class, resp.Error.Desc)
		}
		return resp.Return, nil
	}
}

// Console is the guest's serial console so far.
func (m *Monitor) Console() string { return strings.ReplaceAll(m.console.String(), "\r", "") }

// WaitConsole waits until the console has a line that contains every one of want
// and returns it; ctx's error when ctx ends first.
func (m *Monitor) WaitConsole(ctx context.Context, want ...string) (string, error) {
	for {
		for _, line := range strings.Split(m.Console(), "\n") {
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(line, w)
			}
			if ok {
				return line, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no console line with %q: %w", want, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// MonitorArgs are the arguments that give a QEMU command line (run without RunSteps)
// a QMP socket at socket, for DialMonitor.
func MonitorArgs(socket string) []string {
	return []string{"-qmp", "unix:" + socket + ",server=on,wait=off"}
}

// DialMonitor connects to the QMP socket of a QEMU started with MonitorArgs (it waits
// for QEMU to make it, until ctx ends); console is the guest's serial console as the
// test collects it. Close the Monitor when done.
func DialMonitor(ctx context.Context, socket string, console fmt.Stringer) (*Monitor, error) {
	return dialMonitor(ctx, socket, console)
}

// Close closes the connection to QEMU.
func (m *Monitor) Close() error { return m.conn.Close() }

// HotAddDisk plugs the image at path in as a virtio-blk disk with the QEMU device id
// id and the serial number serial, whose writes QEMU throttles to bps bytes a
// second (a wipe then lasts long enough to watch); device_del with id pulls it out.
func (m *Monitor) HotAddDisk(id, path, serial string, bps int) error {
	for _, c := range []struct {
		cmd  string
		args map[string]any
	}{
		{"object-add", map[string]any{"qom-type": "throttle-group", "id": id + "-tg", "limits": map[string]any{"bps-write": bps}}},
		{"blockdev-add", map[string]any{"node-name": id + "-raw", "driver": "raw",
			"file": map[string]any{"driver": "file", "filename": path}}},
		{"blockdev-add", map[string]any{"node-name": id + "-node", "driver": "throttle", "throttle-group": id + "-tg",
			"file": id + "-raw"}},
		{"device_add", map[string]any{"driver": "virtio-blk-pci", "id": id, "drive": id + "-node", "serial": serial}},
	} {
		if _, err := m.Execute(c.cmd, c.args); err != nil {
			return fmt.Errorf("hot-adding %s: %w", id, err)
		}
	}
	return nil
}

// dialMonitor connects to QEMU's QMP socket, which QEMU makes as it starts, and
// leaves the capabilities negotiation done.
func dialMonitor(ctx context.Context, socket string, con fmt.Stringer) (*Monitor, error) {
	var conn net.Conn
	for {
		var err error
		if conn, err = net.Dial("unix", socket); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("qmp: %w (last: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	m := &Monitor{conn: conn, rd: bufio.NewReader(conn), console: con}
	greeting, err := m.rd.ReadBytes('\n')
	if err != nil || !strings.Contains(string(greeting), `"QMP"`) {
		conn.Close()
		return nil, errors.Join(errors.New("qmp: no greeting"), err)
	}
	if _, err := m.Execute("qmp_capabilities", nil); err != nil {
		conn.Close()
		return nil, err
	}
	return m, nil
}
