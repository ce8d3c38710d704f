package agent

import (
	"net"
	"strings"
	"testing"
	"time"
)

// A push endpoint on every interface without a token is open to anyone
// who can reach the port: the agent says so at start, as a warning (shown
// at the default level, info), and names the way out. Loopback, or a
// token, is quiet.
func TestListenAllInterfacesWithoutTokenWarns(t *testing.T) {
	const warn = `level=WARN msg="listening on all interfaces without a token: anyone who can reach this port can push samples"`
	cases := []struct {
		listen, token string
		warns         bool
	}{
		{"0.0.0.0:0", "", true},
		{":0", "", true},
		{"[::]:0", "", true},
		{"0.0.0.0:0", "s3cret", false},
		{"127.0.0.1:0", "", false},
	}
	for _, c := range cases {
		if strings.HasPrefix(c.listen, "[::]") {
			if ln, err := net.Listen("tcp", c.listen); err != nil {
				t.Logf("no IPv6 here: %v", err)
				continue
			} else {
				ln.Close()
			}
		}
		_, log, stop := runAgent(t, Config{DB: t.TempDir() + "/v.db", Interval: time.Hour, Listen: c.listen, Token: c.token})
		stop()
		got := strings.Contains(log.String(), warn)
		if got != c.warns {
			t.Errorf("--listen %s, token %q: warned %v, want %v\n%s", c.listen, c.token, got, c.warns, log)
		}
		if c.warns && !strings.Contains(log.String(), `hint="give --token-file, or listen on 127.0.0.1`) {
			t.Errorf("--listen %s: the warning names no way out:\n%s", c.listen, log)
		}
	}
}
