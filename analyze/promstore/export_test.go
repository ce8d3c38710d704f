package promstore

// SetPartRows sets how many samples a read takes at once, for the tests;
// it returns the previous value.
func SetPartRows(n int) int {
	old := partRows
	partRows = n
	return old
}
