package pagerduty

import "testing"

// FuzzDescribe: any error body from the Events API is described or left
// out ("" keeps the quoted body), without a panic.
func FuzzDescribe(f *testing.F) {
	f.Add([]byte(`{"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect"]}`))
	f.Add([]byte(`{"message":null,"errors":[1,2]}`))
	f.Add([]byte(`Throttled`))
	f.Fuzz(func(t *testing.T, body []byte) {
		describe(body)
	})
}
