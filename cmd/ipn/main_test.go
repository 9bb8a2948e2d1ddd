package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/coordinator"
	"github.com/ipn-project/ipn/wire"
)

// envCLI, when set, makes the test binary run main with its arguments: the
// tests run it as the ipn command.
const envCLI = "IPN_CLI_TEST"

// TestMain lets the test binary stand in for ipn: when the tests run it as
// the command (envCLI), and when the demo re-executes itself as a member
// process. Otherwise it runs the tests against a coordinator in this
// process, which the ipn commands they start find through the environment.
func TestMain(m *testing.M) {
	if os.Getenv(envCLI) != "" || len(os.Args) > 1 && os.Args[1] == "member" {
		main()
		os.Exit(0)
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ipn-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "ipnd.sock")
	os.Setenv(wire.EnvSocket, sock)
	os.Setenv(ipn.EnvNoAutostart, "1")
	srv := coordinator.NewServer(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), "")
	if err := srv.Listen(sock, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer srv.Close()
	return m.Run()
}

func TestDemo(t *testing.T) {
	// Member processes exit at once, even under the race detector.
	t.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	for _, lossless := range []bool{true, false} {
		var out bytes.Buffer
		if err := runDemo(&out, 3, 5000, 200, 64, lossless); err != nil {
			t.Fatalf("demo (lossless %v): %v\n%s", lossless, err, out.String())
		}
		for _, want := range []string{"intact and in order"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("demo output lacks %q:\n%s", want, out.String())
			}
		}
		if lossless && strings.Count(out.String(), " 5000 ") < 3 {
			t.Errorf("lossless demo: want 5000 messages at each of 3 receivers:\n%s", out.String())
		}
	}
}
