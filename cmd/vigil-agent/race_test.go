//go:build race

package main

// The agent binary under test is built with -race when the tests are.
func init() { buildFlags = append(buildFlags, "-race") }
