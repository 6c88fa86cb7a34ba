package s3server

import "syscall"

// dieWithParent has the kernel stop the gateway when the process that
// started it dies without stopping it (kill -9): otherwise it runs on,
// holding the sandbox's port and files, until someone finds it.
func dieWithParent(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
