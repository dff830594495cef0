package cache

import (
	"os"
	"testing"

	"github.com/verdict-dev/verdict/pkg/cache/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
