package main

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// echoSMTP is an SMTP server on loopback that refuses every login by
// echoing it: the AUTH line as sent (PLAIN's base64 of user and password)
// and the password it decodes from it, as a careless relay's 535 does.
func echoSMTP(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveEchoSMTP(c)
		}
	}()
	return ln.Addr().String()
}

func serveEchoSMTP(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(s string) { fmt.Fprintf(c, "%s\r\n", s) }
	say("220 echo ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			say("250-echo")
			say("250 AUTH PLAIN LOGIN")
		case "AUTH":
			mech, blob, _ := strings.Cut(arg, " ")
			decoded, _ := base64.StdEncoding.DecodeString(blob)
			parts := strings.Split(string(decoded), "\x00")
			say(fmt.Sprintf("535 5.7.8 %s %s refused for %q", mech, blob, parts))
		case "QUIT":
			say("221 bye")
			return
		default:
			say("503 5.5.1 login first: " + line)
		}
	}
}

// TestNoSecretLeaksEmail is TestNoSecretLeaks's row for the email
// channel: its SMTP password, echoed back by the relay raw and in
// PLAIN's base64, appears in no output of notify test and evaluate, no
// history row and no byte of the state DB.
func TestNoSecretLeaksEmail(t *testing.T) {
	const pass = "smtp-Pa55word-echo"
	addr := echoSMTP(t)
	host, port, _ := net.SplitHostPort(addr)
	t.Setenv("SMTP_PASSWORD", pass)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`alert_rules:
  - name: high_cpu
    metric_path: cpu_usage_percent.max
    condition: greater_than
    threshold: 80
    severity: high
    evaluation_window: 60
channels:
  - name: mail
    type: email
    smtp_server: %s
    smtp_port: %s
    tls: none
    username: alerts@example.com
    to_emails: [oncall@example.com]
    retry_attempts: 0
`, host, port)), 0o600); err != nil {
		t.Fatal(err)
	}
	secrets := []string{pass, base64.StdEncoding.EncodeToString([]byte("\x00alerts@example.com\x00" + pass))}
	check := func(what string, out []byte) {
		t.Helper()
		for _, s := range secrets {
			for _, f := range leakForms(s) {
				if strings.Contains(string(out), f) {
					t.Errorf("%s shows the secret %q (as %q):\n%s", what, s, f, out)
				}
			}
		}
	}
	code, out := runVigil(t, dir, "notify", "test", "mail", "--config", cfg)
	if code == 0 || !strings.Contains(string(out), "535") {
		t.Errorf("notify test: exit %d, want the relay's 535 reported:\n%s", code, out)
	}
	check("vigil notify test", out)

	if err := os.WriteFile(filepath.Join(dir, "cpu.jsonl"), []byte(`{"ts":"2026-11-29T10:00:00Z","name":"cpu_usage_percent","type":"gauge","value":95,"labels":{"host":"a"}}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := runVigil(t, dir, "import", "--db", "m.db", "cpu.jsonl"); code != 0 {
		t.Fatalf("import: %d\n%s", code, out)
	}
	st := filepath.Join(dir, "s.db")
	code, out = runVigil(t, dir, "evaluate", "--config", cfg, "--db", "m.db", "--state", st, "--at", "2026-11-29T10:00:30Z")
	if code != 1 {
		t.Errorf("evaluate: exit %d, want 1 (nothing delivered):\n%s", code, out)
	}
	check("vigil evaluate", out)
	for _, args := range [][]string{{"alerts", "history"}, {"alerts", "history", "-o", "json"}} {
		_, out := runVigil(t, dir, append(args, "--state", st)...)
		if !strings.Contains(string(out), "535") {
			t.Errorf("vigil %s: the relay's refusal is not in the history:\n%s", strings.Join(args, " "), out)
		}
		check("vigil "+strings.Join(args, " "), out)
	}
	for _, f := range []string{st, st + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		check("the state DB file "+filepath.Base(f), b)
	}
}
