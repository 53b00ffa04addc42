// CoreDNS for the test node, with only the plugins its Corefile
// (cluster/manifests/coredns.yaml) uses. CoreDNS's own main imports every
// plugin, the cloud DNS providers among them; each plugin registers itself
// when imported, so importing fewer builds a smaller server from the same
// module. There is no `forward`: the node answers for cluster.local only and
// sends nothing off the machine.
package main

import (
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/ready"

	"github.com/coredns/coredns/coremain"
)

func main() {
	coremain.Run()
}
