//go:build !linux || !cgo

package analyze

// trimCHeap does nothing where the C heap is not glibc's (see the Linux
// version).
func trimCHeap() {}
