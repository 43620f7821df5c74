// Command pause holds a pod's namespaces open: the sandbox process of every pod.
//
// Written here because the upstream pause image comes only from a registry. As PID 1 of a
// pod with a shared PID namespace it must reap orphaned children, and it exits on SIGINT or
// SIGTERM so a pod stops at once.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is the pause release whose behaviour this program provides (set at link time).
var version = "dev"

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-v" || os.Args[1] == "--version") {
		fmt.Println("pause", version)
		return
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
