// Package bench holds the service's benchmarks; results and how to run them are in
// BENCHMARKS.md.
package bench

import (
	"testing"

	"github.com/aalscert/aalscert/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
