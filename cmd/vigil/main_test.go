package main

import (
	"os"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// The end-to-end tests run the real vigil command from testdata/script.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"vigil": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
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
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
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
