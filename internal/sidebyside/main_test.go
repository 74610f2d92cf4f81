package sidebyside

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/callhouse/callhouse/internal/embeddedch/embeddedchtest"
)

// repoRoot is the repository, seen from this package's directory (where
// `go test` runs).
var repoRoot = filepath.Join("..", "..")

func TestMain(m *testing.M) { os.Exit(embeddedchtest.Run(m)) }

// collectorEnv passes the test server's credentials, if any, to the
// collectors (both configs read them).
func collectorEnv() []string {
	var env []string
	if u := os.Getenv(embeddedchtest.EnvUser); u != "" {
		env = append(env, "CALLHOUSE_CLICKHOUSE_USERNAME="+u)
	}
	if p := os.Getenv(embeddedchtest.EnvPassword); p != "" {
		env = append(env, "CALLHOUSE_CLICKHOUSE_PASSWORD="+p)
	}
	return env
}
