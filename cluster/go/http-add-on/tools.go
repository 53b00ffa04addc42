//go:build tools

// The HTTP add-on's three commands for the test node (docs/scale-to-zero.md),
// built with `go build -o DIR github.com/kedacore/http-add-on/...`; this
// file only records them as dependencies so that `go mod tidy` keeps their
// modules in go.sum.
package tools

import (
	_ "github.com/kedacore/http-add-on/interceptor"
	_ "github.com/kedacore/http-add-on/operator"
	_ "github.com/kedacore/http-add-on/scaler"
)
