// Package noredirecttest serves answers that are not valid HTTP, which
// net/http's test server cannot send, for the tests of every client that
// goes through package noredirect.
package noredirecttest

import (
	"bufio"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
)

// BadLocation is a redirect whose Location holds a control character
// after a session token: Go cannot read the header line, and its error
// quotes the line whole.
const BadLocation = "https://sso.example/login?session=SESSTOKEN\x01"

// MalformedServer answers every request on loopback with a 302 whose
// Location is BadLocation, and returns its URL and a count of the
// requests it read.
func MalformedServer(tb testing.TB) (string, *atomic.Int64) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = req.Body.Read(make([]byte, 1<<20))
					n.Add(1)
					if _, err := c.Write([]byte("HTTP/1.1 302 Found\r\nLocation: " + BadLocation + "\r\nContent-Length: 0\r\n\r\n")); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String(), &n
}
