//go:build linux && cgo

package analyze

/*
#include <malloc.h>
*/
import "C"

// trimCHeap hands the C heap's free memory back to the system. DuckDB's
// Arrow reads of a long sliding window (SlidingMany: a replay's chunk of
// steps) allocate and free a few hundred megabytes in glibc's per-thread
// arenas, which glibc keeps: a month's replay held a tenth of a gigabyte
// of them for nothing (issue 27's 1 GiB).
func trimCHeap() { C.malloc_trim(0) }
