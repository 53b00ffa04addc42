//go:build tools

// The command the test node uses, built with
// `go build -o DIR sigs.k8s.io/cri-tools/cmd/crictl`; this file only keeps
// its module in go.mod and go.sum.
package tools

import _ "sigs.k8s.io/cri-tools/cmd/crictl"
