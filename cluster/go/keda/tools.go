//go:build tools

// KEDA's operator and its metrics API server for the test node's loop
// (docs/test-node.md), built with `go build -o DIR
// github.com/kedacore/keda/v2/cmd/...`; this file only records them as
// dependencies so that `go mod tidy` keeps their modules in go.sum.
package tools

import (
	_ "github.com/kedacore/keda/v2/cmd/adapter"
	_ "github.com/kedacore/keda/v2/cmd/operator"
	_ "github.com/kedacore/keda/v2/cmd/webhooks"
)
