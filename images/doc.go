// Package images will build the bootable USB and ISO images and hold the PID 1 agent
// that runs inside them. Nothing is implemented yet.
package images
