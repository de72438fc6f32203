package images

import (
	"os"

	"github.com/diskfs/go-diskfs/backend"
	"github.com/diskfs/go-diskfs/backend/file"
)

// backendSub is the read-only region [start, start+size) of f as a go-diskfs backend.
func backendSub(f *os.File, start, size int64) backend.Storage {
	return backend.Sub(file.New(f, true), start, size)
}
