// etcd for the test node. Debian's etcd-server 3.4.23 is older than 3.4.31,
// below which kube-apiserver 1.35 turns off watch progress requests
// (k8s.io/apiserver pkg/storage/feature/feature_support_checker.go), so the
// server is built from its module. etcd's own main package lives in a module
// of its own (go.etcd.io/etcd/v3), which cannot be required by version; its
// main does nothing but call etcdmain.Main, as this one does.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
