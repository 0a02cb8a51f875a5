package stripetest

import (
	"os/exec"
	"runtime"
	"syscall"
)

// startTiedToProcess starts cmd so that the kernel kills it when the test process ends,
// however it ends (failed test, panic, timeout), so no stripe-mock outlives its tests.
// The parent-death signal fires when the starting OS thread exits, so cmd is started from
// a goroutine that keeps its thread for the life of the process.
func startTiedToProcess(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread lives as long as the process
		err := cmd.Start()
		errc <- err
		if err == nil {
			_ = cmd.Wait()
		}
		select {} // keep the thread
	}()
	return <-errc
}
