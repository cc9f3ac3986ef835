//go:build linux || darwin

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/idcsctl/idcsctl/internal/store"
)

// maxStreamRSS is the bound on the resident memory of idcsctl
// while it streams a body of any size.
const maxStreamRSS = 50 << 20

// TestFetchStreams1GiBInBoundedMemory streams 1 GiB through idcsctl (the
// test binary, run as idcsctl; about a second on loopback) and checks the
// child's peak resident memory. BenchmarkFetchStream1GiB does the same
// through a real build and reports the figure.
func TestFetchStreams1GiBInBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 1 GiB; skipped with -short")
	}
	bin, err := exec.LookPath("idcsctl")
	if err != nil {
		t.Fatalf("the test binary is not on PATH as idcsctl (TestMain sets it up): %v", err)
	}
	rss, took := streamThrough(t, bin, 1<<30)
	t.Logf("idcsctl streamed 1 GiB in %s with a peak RSS of %.1f MiB", took.Round(time.Millisecond), float64(rss)/(1<<20))
	if rss > maxStreamRSS {
		t.Errorf("peak RSS %d MiB, want at most %d MiB", rss>>20, maxStreamRSS>>20)
	}
}

// BenchmarkFetchStream1GiB builds idcsctl, streams 1 GiB through `idcsctl
// fetch` into a pipe, and reports the child's peak resident memory
// (maxrss-MiB) besides the throughput. Run it with
//
//	go test ./cmd/idcsctl -run '^$' -bench FetchStream1GiB -benchtime 1x
func BenchmarkFetchStream1GiB(b *testing.B) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		b.Fatalf("the go command is needed to build idcsctl: %v", err)
	}
	bin := filepath.Join(b.TempDir(), "idcsctl")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	const size = 1 << 30
	b.SetBytes(size)
	var peak int64
	for b.Loop() {
		rss, _ := streamThrough(b, bin, size)
		peak = max(peak, rss)
	}
	b.ReportMetric(float64(peak)/(1<<20), "maxrss-MiB")
	if peak > maxStreamRSS {
		b.Errorf("peak RSS %d MiB, want at most %d MiB", peak>>20, maxStreamRSS>>20)
	}
}

// streamThrough runs `bin fetch` on a body of size bytes from a loopback
// server that is the profile's domain, reads the child's stdout to the end
// through a pipe, and returns the child's peak resident memory in bytes.
func streamThrough(tb testing.TB, bin string, size int64) (rss int64, took time.Duration) {
	tb.Helper()
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer at-stream" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		for left := size; left > 0; {
			n, err := w.Write(chunk[:min(left, int64(len(chunk)))])
			if err != nil {
				return
			}
			left -= int64(n)
		}
	}))
	defer srv.Close()

	dir := tb.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	conf := fmt.Sprintf("[profiles.default]\ndomain = %q\nclient_id = \"c\"\ntoken_store = \"file\"\n", srv.URL)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	tok := &store.Token{AccessToken: "at-stream", Expiry: time.Now().Add(time.Hour), Domain: srv.URL, ClientID: "c"}
	if err := store.NewFile(dir).Save(context.Background(), "default", tok); err != nil {
		tb.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "fetch", "/big")
	cmd.Env = append(os.Environ(), "IDCSCTL_CONFIG="+cfg, "IDCSCTL_TOKEN_STORE=file", "IDCSCTL_PROFILE=default")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	n, copyErr := io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		tb.Fatalf("idcsctl fetch: %v", err)
	}
	took = time.Since(start)
	if copyErr != nil || n != size {
		tb.Fatalf("read %d bytes (%v), want %d", n, copyErr, size)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		tb.Fatalf("no resource usage for the child on %s", runtime.GOOS)
	}
	rss = int64(ru.Maxrss)
	if runtime.GOOS == "linux" {
		rss *= 1024 // Linux reports kilobytes, macOS bytes
	}
	return rss, took
}
