//go:build !linux

package stripetest

import "os/exec"

// startTiedToProcess starts cmd. Outside Linux there is no parent-death signal: call Stop
// from TestMain, or stripe-mock lingers after the tests until it is killed.
func startTiedToProcess(cmd *exec.Cmd) error { return cmd.Start() }
