// Package stripetest runs stripe-mock, Stripe's official API mock, for tests that call the
// Stripe API. One stripe-mock serves the whole test process, on loopback ports the kernel
// picks, and it dies with the process.
//
// Install it once with
//
//	go install github.com/stripe/stripe-mock@v0.203.0
//
// (.ci/run does). It is found on PATH or in $(go env GOPATH)/bin.
package stripetest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Version is the stripe-mock release the tests are written against.
const Version = "v0.203.0"

const installHint = "go install github.com/stripe/stripe-mock@" + Version

var (
	once    sync.Once
	baseURL string
	startEr error
	proc    *os.Process
)

// URL returns the base URL of the process's stripe-mock (e.g. http://127.0.0.1:41234),
// starting it on first use. It fails the test with the install command if stripe-mock is
// missing.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(func() { baseURL, startEr = start() })
	if startEr != nil {
		t.Fatalf("stripetest: %v", startEr)
	}
	return baseURL
}

// Stop ends stripe-mock if it was started, for a TestMain that outlives its tests. On Linux a
// test process that exits without calling it still takes stripe-mock down with it.
func Stop() {
	if proc != nil {
		_ = proc.Kill()
	}
}

// Binary returns the path of the stripe-mock executable, or an error naming how to install it.
func Binary() (string, error) {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	var dirs []string
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	// go test puts its own toolchain first on PATH, so "go" is the one running the tests.
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, p := range filepath.SplitList(strings.TrimSpace(string(out))) {
			dirs = append(dirs, filepath.Join(p, "bin"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "stripe-mock")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("stripe-mock not found on PATH or in $(go env GOPATH)/bin; install it with: %s", installHint)
}

// start launches stripe-mock with HTTP and HTTPS both on loopback ports of the kernel's
// choosing (stripe-mock would otherwise also open HTTPS on :12112 on every interface, and
// two test processes would collide), and reads the HTTP address it prints.
func start() (string, error) {
	bin, err := Binary()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := startTiedToProcess(cmd); err != nil {
		return "", fmt.Errorf("start %s: %w", bin, err)
	}
	proc = cmd.Process
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "Listening for HTTP at address: "); ok {
				addr <- a
				break
			}
		}
		_, _ = io.Copy(io.Discard, out) // keep the pipe drained
	}()
	select {
	case a := <-addr:
		u := "http://" + a
		return u, waitReady(u)
	case <-time.After(30 * time.Second):
		_ = proc.Kill()
		return "", errors.New("stripe-mock did not report its HTTP address within 30 s")
	}
}

// waitReady returns once stripe-mock answers HTTP.
func waitReady(u string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(u + "/v1/customers/cus_ready")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stripe-mock at %s does not answer: %w", u, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
