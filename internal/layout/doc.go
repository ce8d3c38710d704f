// Package layout has no code: its test keeps vigil's imports running
// downward (docs/architecture.md), so a wrong arrow fails `make test`
// instead of waiting for a reviewer. It must not be imported.
package layout
