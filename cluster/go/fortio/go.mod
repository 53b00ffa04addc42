// fortio 1.69.4, the image tag manifests/load's Job names, built from its
// module for the test node (docs/test-node.md).
module keda-spin-autoscaling/cluster/fortio

go 1.26.0

require fortio.org/fortio v1.69.4

require (
	fortio.org/cli v1.10.0 // indirect
	fortio.org/dflag v1.8.1 // indirect
	fortio.org/log v1.17.2 // indirect
	fortio.org/safecast v1.0.0 // indirect
	fortio.org/scli v1.16.1 // indirect
	fortio.org/sets v1.3.0 // indirect
	fortio.org/struct2env v0.4.2 // indirect
	fortio.org/version v1.0.4 // indirect
	github.com/fsnotify/fsnotify v1.8.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/kortschak/goroutine v1.1.2 // indirect
	golang.org/x/crypto/x509roots/fallback v0.0.0-20250406160420-959f8f3db0fb // indirect
	golang.org/x/net v0.39.0 // indirect
	golang.org/x/sys v0.32.0 // indirect
	golang.org/x/text v0.24.0 // indirect
)
