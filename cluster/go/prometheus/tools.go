//go:build tools

// Prometheus for the test node's loop (docs/test-node.md), built with
// `go build -o DIR github.com/prometheus/prometheus/cmd/prometheus`; this file
// only records it as a dependency so that `go mod tidy` keeps its modules in
// go.sum.
package tools

import _ "github.com/prometheus/prometheus/cmd/prometheus"
