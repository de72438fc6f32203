// Package registry will be the central registry server that collects certificates into
// a transparency log. Nothing is implemented yet.
package registry
