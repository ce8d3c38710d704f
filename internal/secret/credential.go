package secret

import (
	"net/http"
	"slices"
	"strings"
)

// What is a credential. Registering every header value and query value
// scrubbed ordinary words from all output (X-Team: checkout turned every
// "checkout" label into <redacted>), so only what names or looks like a
// credential is registered from headers and URL queries. A value the
// config names as a secret (a *_env or *_file setting, a token field)
// is registered whatever it looks like: that is Add.

// credentialHeaderWords are parts of a header name that make its value
// a credential (case-insensitive): Authorization, X-Api-Key,
// X-Scope-OrgID, X-Auth-Token, Cookie, X-Tenant ...
var credentialHeaderWords = []string{"auth", "token", "key", "secret", "pass", "pwd", "session",
	"cookie", "signature", "credential", "jwt", "bearer", "api", "org", "tenant", "scope"}

// credentialParamWords are parts of a URL query parameter's name that
// make its value a credential (case-insensitive): token, access_token,
// key, apikey, api_key, secret, auth, password, sig, signature, session,
// code ...
var credentialParamWords = []string{"token", "key", "secret", "auth", "pass", "pwd", "sig",
	"session", "code", "credential", "jwt", "bearer"}

// plainHeaders are header names whose values describe the request and
// are never registered, even when they look generated.
var plainHeaders = []string{"Accept", "Accept-Encoding", "Accept-Language", "Content-Encoding", "Content-Type", "User-Agent"}

// CredentialHeader reports whether a header's name says its value is a
// credential.
func CredentialHeader(name string) bool {
	return containsAny(strings.ToLower(name), credentialHeaderWords)
}

// CredentialParam reports whether a URL query parameter's name says its
// value is a credential.
func CredentialParam(name string) bool {
	return containsAny(strings.ToLower(name), credentialParamWords)
}

func containsAny(s string, words []string) bool {
	return slices.ContainsFunc(words, func(w string) bool { return strings.Contains(s, w) })
}

func plainHeader(name string) bool {
	return slices.Contains(plainHeaders, http.CanonicalHeaderKey(name))
}

// LooksGenerated reports whether a value that no name calls a credential
// still looks like a generated one: MinLen bytes or more, not a number,
// and mixing letters with digits, or upper- with lower-case letters, or
// 32 bytes or longer without white space.
func LooksGenerated(v string) bool {
	if len(v) < MinLen || numeric(v) {
		return false
	}
	c := classify(v)
	return (c.digit && (c.upper || c.lower)) || (c.upper && c.lower) || (len(v) >= 32 && !c.space)
}

// looksSecret tells a path segment of a secret-bearing URL that may be
// a token (Slack's T0123/B0456/xxxxxxxx parts) from a word of an API
// path ("services", "hooks", "v1"): long enough, and with a digit, mixed
// case, or the length of a generated key.
func looksSecret(seg string) bool {
	if len(seg) < MinLen {
		return false
	}
	c := classify(seg)
	return len(seg) >= 16 || c.digit || (c.upper && c.lower)
}

type classes struct{ digit, upper, lower, space, other bool }

func classify(v string) classes {
	var c classes
	for _, r := range v {
		switch {
		case r >= '0' && r <= '9':
			c.digit = true
		case r >= 'A' && r <= 'Z':
			c.upper = true
		case r >= 'a' && r <= 'z':
			c.lower = true
		case r == ' ' || r == '\t':
			c.space = true
		default:
			c.other = true
		}
	}
	return c
}

// numeric reports whether v is made of digits, '.' and '-' only, with a
// digit: a form that could be part of a number in ordinary output, so it
// is matched only where it stands alone (see Scrub).
func numeric(v string) bool {
	digit := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= '0' && c <= '9':
			digit = true
		case c == '.' || c == '-':
		default:
			return false
		}
	}
	return digit
}

// plain reports whether a registered credential is all digits or one
// lowercase word (a-z only): vigil scrubs it wherever it appears, from
// ordinary output too, so vigil check warns about it.
func plain(v string) bool {
	if v == "" {
		return false
	}
	c := classify(v)
	return !c.space && !c.other && (c.digit != c.lower) && !c.upper
}
