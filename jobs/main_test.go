package jobs_test

import (
	"testing"

	"github.com/aalscert/aalscert/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
