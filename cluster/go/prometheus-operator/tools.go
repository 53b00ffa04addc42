//go:build tools

// prometheus-operator and its config reloader for the test node's loop
// (docs/test-node.md), built with `go build -o DIR
// github.com/prometheus-operator/prometheus-operator/cmd/...`; this file only
// records them as dependencies so that `go mod tidy` keeps their modules in
// go.sum.
package tools

import (
	_ "github.com/prometheus-operator/prometheus-operator/cmd/operator"
	_ "github.com/prometheus-operator/prometheus-operator/cmd/prometheus-config-reloader"
)
