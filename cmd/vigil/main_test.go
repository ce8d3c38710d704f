package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// The end-to-end tests run the real vigil command from testdata/script.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"vigil": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
		// vigil-killed is vigil killed (exit 137, no cleanup) after it
		// recorded its notices (VIGIL_KILL=recorded) or right before its
		// first request, its notices marked sending (VIGIL_KILL=sending).
		"vigil-killed": func() {
			kill := func() { os.Exit(137) }
			switch os.Getenv("VIGIL_KILL") {
			case "recorded":
				afterRecord = kill
			case "sending":
				beforeSend = kill
			default:
				panic("VIGIL_KILL: want recorded or sending")
			}
			os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
		},
		// vigil-pid is vigil that first writes its process id to
		// $VIGIL_PIDFILE, for `signal` to send it a real signal.
		"vigil-pid": func() {
			if err := os.WriteFile(os.Getenv("VIGIL_PIDFILE"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
				panic(err)
			}
			os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
		},
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			// DuckDB and vigil must never need $HOME.
			env.Setenv("HOME", env.WorkDir+"/no-home")
			return nil
		},
		// [have:PROG]: PROG is installed. Under CI a missing one is an
		// error, not a skip: .ci/run installs the real servers the tests
		// talk to.
		Condition: func(cond string) (bool, error) {
			prog, ok := strings.CutPrefix(cond, "have:")
			if !ok {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			if _, err := exec.LookPath(prog); err != nil {
				if os.Getenv("CI") != "" {
					return false, fmt.Errorf("CI: %s is not installed (.ci/run installs it)", prog)
				}
				return false, nil
			}
			return true, nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"hook": hookCmd,
			// freeport VAR: set VAR to a free loopback TCP port.
			"freeport": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: freeport VAR")
				}
				l, err := net.Listen("tcp", "127.0.0.1:0")
				ts.Check(err)
				port := l.Addr().(*net.TCPAddr).Port
				l.Close()
				ts.Setenv(args[0], strconv.Itoa(port))
			},
			// waitlines FILE N: wait up to 20 s until FILE has at least N
			// lines (a hook's log: the receiver got N requests).
			"waitlines": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: waitlines FILE N")
				}
				n, err := strconv.Atoi(args[1])
				ts.Check(err)
				deadline := time.Now().Add(20 * time.Second)
				for {
					b, _ := os.ReadFile(ts.MkAbs(args[0]))
					if strings.Count(string(b), "\n") >= n {
						return
					}
					if time.Now().After(deadline) {
						ts.Fatalf("%s: %d lines after 20s, want %d", args[0], strings.Count(string(b), "\n"), n)
					}
					time.Sleep(50 * time.Millisecond)
				}
			},
			// sleep DURATION: wait (a Go duration), e.g. for a run to read
			// an answer the log shows was sent.
			"sleep": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: sleep DURATION")
				}
				d, err := time.ParseDuration(args[0])
				ts.Check(err)
				time.Sleep(d)
			},
			// signal TERM|INT PIDFILE: send the signal to the process whose
			// id vigil-pid wrote to PIDFILE.
			"signal": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: signal TERM|INT PIDFILE")
				}
				sig := map[string]syscall.Signal{"TERM": syscall.SIGTERM, "INT": syscall.SIGINT}[args[0]]
				if sig == 0 {
					ts.Fatalf("signal %s: want TERM or INT", args[0])
				}
				b, err := os.ReadFile(ts.MkAbs(args[1]))
				ts.Check(err)
				pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
				ts.Check(err)
				ts.Check(syscall.Kill(pid, sig))
			},
			// keys FILE: print FILE's lines (a hook's .keys) with each
			// distinct key replaced by a letter in order of first
			// appearance (A, B, ...; "-" stays): equal keys read equal
			// whatever their value.
			"keys": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: keys FILE")
				}
				letters := map[string]string{"-": "-"}
				var out []string
				for _, line := range strings.Split(strings.TrimSpace(ts.ReadFile(args[0])), "\n") {
					var ws []string
					for _, k := range strings.Fields(line) {
						if _, ok := letters[k]; !ok {
							letters[k] = string(rune('A' + len(letters) - 1))
						}
						ws = append(ws, letters[k])
					}
					out = append(out, strings.Join(ws, " "))
				}
				fmt.Fprintln(ts.Stdout(), strings.Join(out, "\n"))
			},
			// waitport PORT: wait up to 20 s until 127.0.0.1:PORT accepts.
			"waitport": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: waitport PORT")
				}
				deadline := time.Now().Add(20 * time.Second)
				for {
					c, err := net.DialTimeout("tcp", "127.0.0.1:"+args[0], time.Second)
					if err == nil {
						c.Close()
						return
					}
					if time.Now().After(deadline) {
						ts.Fatalf("nothing listens on 127.0.0.1:%s: %v", args[0], err)
					}
					time.Sleep(100 * time.Millisecond)
				}
			},
			// now VAR [OFFSET]: set VAR to the current time plus OFFSET
			// (a Go duration), RFC 3339 in UTC, whole seconds: for the
			// tests whose other party (Alertmanager) judges times by its
			// own clock.
			"now": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 1 || len(args) > 2 {
					ts.Fatalf("usage: now VAR [OFFSET]")
				}
				t := time.Now().UTC().Truncate(time.Second)
				if len(args) == 2 {
					d, err := time.ParseDuration(args[1])
					ts.Check(err)
					t = t.Add(d)
				}
				ts.Setenv(args[0], t.Format(time.RFC3339))
			},
			// httpget URL: GET URL and print the body on stdout (for the
			// next stdout assertions); fails on a non-2xx status.
			"httpget": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: httpget URL")
				}
				resp, err := http.Get(args[0])
				ts.Check(err)
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				ts.Check(err)
				if resp.StatusCode/100 != 2 {
					ts.Fatalf("GET %s: %s: %s", args[0], resp.Status, b)
				}
				ts.Stdout().Write(b)
			},
			// exits CODE PROG ARGS...: run PROG and require exit status CODE
			// (stdout and stderr stay available to the next commands).
			"exits": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: exits CODE PROG [ARGS...]")
				}
				err := ts.Exec(args[1], args[2:]...)
				want := args[0]
				switch {
				case want == "0" && err != nil:
					ts.Fatalf("%s exited with %v, want 0", args[1], err)
				case want != "0" && (err == nil || !strings.Contains(err.Error(), "exit status "+want)):
					ts.Fatalf("%s exited with %v, want exit status %s", args[1], err, want)
				}
			},
		},
	})
}

// hook NAME [STATUS...] starts an HTTP receiver for the rest of the script:
// $NAME_URL is its URL (with a secret-looking path that must never be
// printed), every request body is appended as one line to $WORK/NAME.log,
// its Idempotency-Key header and payload idempotency_key ("-" when none)
// to $WORK/NAME.keys,
// and the requests are answered with the given statuses in order, then
// 200. A status written 503:5 answers with Retry-After: 5. With the
// statuses "slow", every request waits 2s before answering 200; "hang"
// never answers that request (it waits until the client gives up).
func hookCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: hook NAME [STATUS...]")
	}
	name := args[0]
	statuses := args[1:]
	log, err := os.OpenFile(filepath.Join(ts.Getenv("WORK"), name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	ts.Check(err)
	keys, err := os.OpenFile(filepath.Join(ts.Getenv("WORK"), name+".keys"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	ts.Check(err)
	var mu sync.Mutex
	n := 0
	l, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		status := "200"
		if n < len(statuses) {
			status = statuses[n]
		}
		n++
		fmt.Fprintf(log, "%s %s %s\n", r.Method, r.Header.Get("Authorization"), strings.ReplaceAll(string(body), "\n", " "))
		var payload struct {
			Key string `json:"idempotency_key"`
		}
		_ = json.Unmarshal(body, &payload) // not every body is vigil's JSON
		fmt.Fprintf(keys, "%s %s\n", orDash(r.Header.Get("Idempotency-Key")), orDash(payload.Key))
		mu.Unlock()
		if status == "hang" { // accepts, never answers (until the client gives up)
			<-r.Context().Done()
			return
		}
		if status == "slow" {
			time.Sleep(2 * time.Second)
			status = "200"
		}
		code, after, _ := strings.Cut(status, ":")
		if after != "" {
			w.Header().Set("Retry-After", after)
		}
		c, _ := strconv.Atoi(code)
		w.WriteHeader(c)
	})}
	go srv.Serve(l)
	ts.Defer(func() { srv.Close(); log.Close(); keys.Close() })
	ts.Setenv(strings.ToUpper(name)+"_URL", "http://"+l.Addr().String()+"/hooks/T0KEN-s3cret")
}
