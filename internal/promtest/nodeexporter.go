package promtest

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"
)

// NodeExporterBinary is where Debian's prometheus-node-exporter package
// puts the exporter.
const NodeExporterBinary = "prometheus-node-exporter"

// StartNodeExporter runs a real node_exporter on loopback with args
// (collector flags; none: its default collectors), waits until it answers
// and stops it when the test ends; it returns the /metrics URL. It is
// skipped where the binary is missing, and fails under CI (CI set), whose
// .ci/run installs prometheus-node-exporter.
func StartNodeExporter(t testing.TB, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath(NodeExporterBinary)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; .ci/run must install it", NodeExporterBinary)
		}
		t.Skipf("SKIPPING: %s not installed (apt-get install prometheus-node-exporter); CI runs this test", NodeExporterBinary)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ne := exec.Command(bin, append([]string{"--web.listen-address=" + addr}, args...)...)
	ne.Stdout, ne.Stderr = io.Discard, io.Discard
	if err := ne.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = ne.Wait(); close(exited) }() // killed at the end: its status says nothing
	t.Cleanup(func() { ne.Process.Kill(); <-exited })
	url := "http://" + addr + "/metrics"
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return url
		}
		if time.Now().After(deadline) {
			t.Fatalf("node exporter did not come up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
