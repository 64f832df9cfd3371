package example

import (
	"testing"

	"github.com/veildns/veil/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }
