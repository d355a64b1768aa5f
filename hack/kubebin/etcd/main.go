// Command etcd is the etcd server built from the Go module proxy at the version the
// Kubernetes pin resolves to, so the test apiserver talks to the etcd it was tested with.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
