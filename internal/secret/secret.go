// Package secret is the one place where vigil's configured secrets are
// known and removed from what leaves the process. Every secret a config
// gives (a channel's token, password, webhook URL, credential headers, a
// source's bearer token, basic auth and tenant header, a remote-write
// URL's query token) is registered once in a Set, and everything printed
// (stdout, stderr, logs) or stored (the state DB's history and outbox)
// passes through the Set's Scrub.
//
// Only credentials are registered: a value the config names as a secret
// (Add), a header whose name says credential or whose value looks
// generated (AddHeader), a URL's password and credential query values
// (AddURL). An ordinary value (X-Team: checkout, ?route=checkout) would
// otherwise be scrubbed from every label and table. A numeric form is
// replaced only where it stands alone, never inside a longer number.
//
// Why one mechanism: a receiver that answers an error by echoing the
// request (its URL with ?token=, an X-Api-Key header, the body) puts the
// secret in an error message, which then travels to stderr, to the
// history, to CI logs. Scrubbing each channel's errors in its own way
// left every channel that forgot (webhook, alertmanager, the sources) to
// leak; one Set that knows every secret, applied at the edges, does not
// depend on each error path remembering.
//
// A secret is also matched in the encodings an echoing server sends it
// back in: URL query- and path-escaped (both hex cases, every byte
// escaped, escaped twice), JSON-string escaped (Go's, with `\/`, with
// every non-ASCII rune as \uXXXX), HTML escaped, base64 (standard and
// URL alphabets, padded or not), every character as JSON's \uXXXX, and
// Go-quoted (a log line quotes an error holding a quoted body). A text
// cut short goes through ScrubCut,
// which masks a secret's first part left at the cut. It cannot catch a
// form not listed here (a server that splits a secret across lines,
// hex-encodes it, or re-encodes it in another character set).
//
// Values shorter than MinLen bytes are not registered: scrubbing "abc"
// from every line would mangle all output (and a short secret is a weak
// one). Set.Skipped counts them so that vigil check can warn.
package secret

import (
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// MinLen is the length in bytes under which a value is not registered.
const MinLen = 6

// Mask is what a secret is replaced by.
const Mask = "<redacted>"

// Set holds the secrets to scrub; its zero value is not usable, use New.
// It is safe for concurrent use; a nil *Set scrubs nothing.
type Set struct {
	mu      sync.RWMutex
	forms   map[string]bool
	skipped int
	plain   map[string]bool   // registered credentials that are all digits or one lowercase word
	rep     *strings.Replacer // nil: rebuild from forms (those not numeric)
	nums    []string          // the numeric forms, longest first; valid with rep
	maxLen  int
}

// New returns an empty Set.
func New() *Set { return &Set{forms: map[string]bool{}, plain: map[string]bool{}} }

// Add registers a secret value and its encoded forms. It reports false
// (and counts the value in Skipped) when the value is too short to be
// scrubbed; an empty value is ignored.
func (s *Set) Add(value string) bool {
	if s == nil || value == "" {
		return true
	}
	if len(value) < MinLen {
		s.mu.Lock()
		s.skipped++
		s.mu.Unlock()
		return false
	}
	s.add(value)
	if plain(value) {
		s.mu.Lock()
		s.plain[value] = true
		s.mu.Unlock()
	}
	return true
}

// addQuiet registers a value that may or may not be a secret (a URL's
// query value): one too short is left out without counting it.
func (s *Set) addQuiet(value string) {
	if s != nil && len(value) >= MinLen {
		s.add(value)
	}
}

func (s *Set) add(value string) {
	fs := forms(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range fs {
		if len(f) < MinLen || s.forms[f] {
			continue
		}
		s.forms[f] = true
		s.rep = nil
		s.maxLen = max(s.maxLen, len(f))
	}
}

// Skipped is how many secrets were too short to register.
func (s *Set) Skipped() int {
	if s == nil {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.skipped
}

// Plain is how many registered credentials are all digits or one
// lowercase word (a-z): vigil scrubs them wherever they appear, from
// ordinary output too (a label "service", a number), so vigil check
// warns about them.
func (s *Set) Plain() int {
	if s == nil {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.plain)
}

// Len is how many forms are registered (0: Scrub changes nothing).
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.forms)
}

// AddURL registers a URL's credentials: the user info's password (and
// the Basic header Go makes of it), a user name that looks generated
// (https://TOKEN@host, a DSN's key), and each query value
// whose parameter's name says credential (CredentialParam) or that looks
// generated (LooksGenerated), with the raw query that holds it. A
// secretBearing URL (a webhook URL whose path is the token, as Slack's;
// a DSN) is a secret as a whole: the URL itself, its path and each path
// segment that looks like a token are registered too. A URL that does
// not parse is registered whole when secretBearing.
func (s *Set) AddURL(raw string, secretBearing bool) {
	raw = strings.TrimSpace(raw)
	if s == nil || raw == "" {
		return
	}
	u, err := url.Parse(raw)
	if err != nil {
		if secretBearing {
			s.Add(raw)
		}
		return
	}
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			// Go's client sends user info as a Basic Authorization
			// header, which an echoing server returns in base64.
			s.AddBasicAuth(u.User.Username(), p)
		}
		if LooksGenerated(u.User.Username()) {
			s.add(u.User.Username())
		}
	}
	s.addQuery(u.RawQuery)
	if !secretBearing {
		return
	}
	s.Add(raw)
	if LooksGenerated(u.Fragment) {
		s.add(u.Fragment)
	}
	secretPath := false
	for _, seg := range strings.Split(u.Path, "/") {
		if looksSecret(seg) {
			secretPath = true
			s.add(seg)
		}
	}
	if secretPath {
		s.add(u.Path)
		s.add(u.EscapedPath())
		v := *u
		v.User = nil
		s.add(v.String()) // the URL as an error from net/http shows it
	}
}

// addQuery registers a query's credential values and, when it holds
// one, the raw query as a whole (?token=x&v=1 echoed as it was sent).
func (s *Set) addQuery(raw string) {
	if raw == "" {
		return
	}
	q, _ := url.ParseQuery(raw)
	found := false
	for name, vs := range q {
		for _, v := range vs {
			switch {
			case CredentialParam(name):
				s.Add(v)
			case LooksGenerated(v):
				s.add(v)
			default:
				continue
			}
			found = true
		}
	}
	if found {
		s.add(raw)
	}
}

// AddHeader registers a custom header's value when it is a credential:
// the header's name says so (CredentialHeader: Authorization, Cookie,
// X-Api-Key, X-Scope-OrgID ...) or the value looks generated
// (LooksGenerated); never the few that describe the request
// (Content-Type, Accept, User-Agent ...). An Authorization-style value
// "SCHEME CREDENTIAL" registers the credential alone too, and a Basic
// one its decoded user:password and password.
func (s *Set) AddHeader(name, value string) {
	if s == nil || plainHeader(name) {
		return
	}
	value = strings.TrimSpace(value)
	scheme, cred, hasCred := strings.Cut(value, " ")
	cred = strings.TrimSpace(cred)
	if !CredentialHeader(name) && !LooksGenerated(value) && !(hasCred && LooksGenerated(cred)) {
		return
	}
	s.Add(value)
	if !hasCred {
		return
	}
	s.Add(cred)
	if strings.EqualFold(scheme, "Basic") {
		if b, err := base64.StdEncoding.DecodeString(cred); err == nil {
			user, pass, _ := strings.Cut(string(b), ":")
			s.AddBasicAuth(user, pass)
		}
	}
}

// AddBasicAuth registers a basic-auth password, user:password and its
// base64 form (what the Authorization header carries).
func (s *Set) AddBasicAuth(user, pass string) {
	if s == nil || pass == "" {
		return
	}
	s.Add(pass)
	s.addQuiet(user + ":" + pass)
	s.add(base64.StdEncoding.EncodeToString([]byte(user + ":" + pass)))
}

// Scrub replaces every registered secret in text, longest form first,
// by Mask. A numeric form (digits, '.', '-': a PIN, a numeric tenant id)
// is replaced in a second pass, only where it stands alone: not where a
// digit, or a '.' that continues a number, is next to it, so that a
// number holding the same digits (0.0410801...) is never corrupted.
func (s *Set) Scrub(text string) string {
	if s == nil || text == "" {
		return text
	}
	r, nums := s.scrubbers()
	if r != nil {
		text = r.Replace(text)
	}
	for _, n := range nums {
		text = replaceNumber(text, n)
	}
	return text
}

// replaceNumber replaces each standalone n in text by Mask.
func replaceNumber(text, n string) string {
	i := strings.Index(text, n)
	if i < 0 {
		return text
	}
	var b strings.Builder
	for i >= 0 {
		j := i + len(n)
		if standsAlone(text, i, j) {
			b.WriteString(text[:i])
			b.WriteString(Mask)
		} else {
			b.WriteString(text[:j])
		}
		text = text[j:]
		i = strings.Index(text, n)
	}
	b.WriteString(text)
	return b.String()
}

// standsAlone reports whether text[i:j] is not part of a longer number:
// no digit next to it, and no '.' next to it that has a digit beyond
// (0.41, 41.5; a sentence's full stop after it does not count).
func standsAlone(text string, i, j int) bool {
	return !continuesNumber(text, i-1, i-2) && !continuesNumber(text, j, j+1)
}

// continuesNumber reports whether text[at] is a digit, or a '.' with a
// digit at text[beyond].
func continuesNumber(text string, at, beyond int) bool {
	if at < 0 || at >= len(text) {
		return false
	}
	if isDigit(text[at]) {
		return true
	}
	return text[at] == '.' && beyond >= 0 && beyond < len(text) && isDigit(text[beyond])
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (s *Set) scrubbers() (*strings.Replacer, []string) {
	s.mu.RLock()
	r, nums, n := s.rep, s.nums, len(s.forms)
	s.mu.RUnlock()
	if r != nil || n == 0 {
		return r, nums
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rep == nil {
		var olds []string
		s.nums = s.nums[:0]
		for f := range s.forms {
			if numeric(f) {
				s.nums = append(s.nums, f)
			} else {
				olds = append(olds, f)
			}
		}
		// The replacer tries its patterns in argument order at each
		// position: longest first, so that a form containing another is
		// replaced whole.
		longestFirst := func(a, b string) int {
			if len(a) != len(b) {
				return len(b) - len(a)
			}
			return strings.Compare(a, b)
		}
		slices.SortFunc(olds, longestFirst)
		slices.SortFunc(s.nums, longestFirst)
		args := make([]string, 0, 2*len(olds))
		for _, o := range olds {
			args = append(args, o, Mask)
		}
		// With only numeric forms the replacer replaces nothing.
		s.rep = strings.NewReplacer(args...)
	}
	return s.rep, s.nums
}

// MinCut is the shortest start of a secret that ScrubCut masks at the
// end of a text: a shorter one tells too little to matter, and masking
// it would eat ordinary words.
const MinCut = 3

// ScrubCut is Scrub for a text that was cut short (an answer read to a
// limit, a message shortened to fit): a secret the cut went through is
// no longer whole, so Scrub would leave its first part. After scrubbing,
// an end of text that is the start of a registered form (at least
// MinCut bytes of it) is masked too. Cut after scrubbing, never before:
// a Mask cut in half shows nothing.
func (s *Set) ScrubCut(text string) string {
	text = s.Scrub(text)
	if s.Len() == 0 || len(text) < MinCut {
		return text
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	longest := 0
	for f := range s.forms {
		for k := min(len(f)-1, len(text)); k >= MinCut && k > longest; k-- {
			// A number's start is masked only where it stands alone.
			if strings.HasSuffix(text, f[:k]) && (!numeric(f) || standsAlone(text, len(text)-k, len(text))) {
				longest = k
				break
			}
		}
	}
	if longest == 0 {
		return text
	}
	return text[:len(text)-longest] + Mask
}

// Err is err with its text scrubbed. The result unwraps to err, so that
// errors.As and errors.Is (the exit code, a hint) still see what it
// wraps; only its text changes. err itself is returned when its text
// holds no secret.
func (s *Set) Err(err error) error {
	if err == nil || s.Len() == 0 {
		return err
	}
	msg := err.Error()
	clean := s.Scrub(msg)
	if clean == msg {
		return err
	}
	return &scrubbed{msg: clean, err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }
