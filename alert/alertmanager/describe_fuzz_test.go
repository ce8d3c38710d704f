package alertmanager

import "testing"

// FuzzDescribe: any error body from Alertmanager (a JSON string, an
// object with a message, anything else) is described or left out,
// without a panic.
func FuzzDescribe(f *testing.F) {
	f.Add([]byte(`"invalid label set: invalid name \"1x\""`))
	f.Add([]byte(`{"code":400,"message":"bad request"}`))
	f.Add([]byte(`<html>502</html>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		describe(body)
	})
}
