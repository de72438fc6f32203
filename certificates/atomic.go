package certificates

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// WriteFileAtomic writes data to dir/name so that the file is either absent or
// whole, even across a crash: it writes a temporary file in dir, syncs it, renames
// it to name and syncs dir. The file gets perm exactly (no umask). It returns the
// path written. On failure the temporary file is removed and an existing file of
// that name is left as it was.
func WriteFileAtomic(dir, name string, data []byte, perm os.FileMode) (path string, err error) {
	return writeFileAtomic(dir, name, data, perm, true)
}

// CreateFileAtomic is WriteFileAtomic for a file that must not exist yet: when dir/name
// exists, or another process creates it first, it leaves that file alone and returns
// an error that matches os.ErrExist.
func CreateFileAtomic(dir, name string, data []byte, perm os.FileMode) (path string, err error) {
	return writeFileAtomic(dir, name, data, perm, false)
}

func writeFileAtomic(dir, name string, data []byte, perm os.FileMode, replace bool) (path string, err error) {
	if name == "" || name != filepath.Base(name) || name == "." || name == ".." {
		return "", fmt.Errorf("write %q in %s: want a plain file name", name, dir)
	}
	path = filepath.Join(dir, name)
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close() // a second Close only reports os.ErrClosed
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if _, err = f.Write(data); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return "", fmt.Errorf("write %s: sync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return "", fmt.Errorf("write %s: close: %w", path, err)
	}
	if replace {
		err = os.Rename(tmp, path)
	} else if err = os.Link(tmp, path); err == nil {
		os.Remove(tmp)
	}
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err = syncDir(dir); err != nil {
		// The file is in place; only its durability is unknown. Keep it.
		return path, fmt.Errorf("write %s: sync directory: %w", path, err)
	}
	return path, nil
}

// syncDir makes a rename in dir durable. File systems that cannot sync a directory
// (EINVAL) have nothing more to make durable, and are not an error.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		err = nil
	}
	return errors.Join(err, d.Close())
}
