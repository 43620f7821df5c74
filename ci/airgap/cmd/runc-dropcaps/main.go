// Command runc-dropcaps is an OCI runtime that removes named capabilities from a container's
// spec, then runs runc with the same arguments.
//
// Some sandboxed hosts refuse to grant a capability the shell itself holds, so every
// privileged container fails with "unable to apply caps". Docker has no per-capability
// switch for --privileged, and kind always asks for it; a runtime registered in dockerd is
// the one place that sees every spec. The spec is rewritten where runc reads it: the
// bundle's config.json for create/run, the --process file for exec.
//
// Usage (as dockerd's runtimeArgs put it): runc-dropcaps --drop=CAP_A,CAP_B [runc args...]
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

var capabilitySets = []string{"bounding", "effective", "inheritable", "permitted", "ambient"}

func main() {
	drop, args := splitDrop(os.Args[1:])
	if err := rewrite(args, drop); err != nil {
		fmt.Fprintln(os.Stderr, "runc-dropcaps:", err)
		os.Exit(1)
	}
	runc, err := findRunc()
	if err != nil {
		fmt.Fprintln(os.Stderr, "runc-dropcaps:", err)
		os.Exit(1)
	}
	if err := syscall.Exec(runc, append([]string{"runc"}, args...), os.Environ()); err != nil {
		fmt.Fprintln(os.Stderr, "runc-dropcaps: exec", runc+":", err)
		os.Exit(1)
	}
}

// splitDrop takes this program's own --drop flags out of the argument list.
func splitDrop(args []string) (map[string]bool, []string) {
	drop := map[string]bool{}
	rest := make([]string, 0, len(args))
	for _, arg := range args {
		if value, ok := strings.CutPrefix(arg, "--drop="); ok {
			for _, name := range strings.Split(value, ",") {
				if name != "" {
					drop[name] = true
				}
			}
			continue
		}
		rest = append(rest, arg)
	}
	return drop, rest
}

// rewrite edits the spec file the runc subcommand in args will read, if any.
func rewrite(args []string, drop map[string]bool) error {
	if len(drop) == 0 {
		return nil
	}
	command, flags := subcommand(args)
	switch command {
	case "create", "run":
		bundle := flagValue(flags, "--bundle", "-b")
		if bundle == "" {
			bundle = "."
		}
		return edit(filepath.Join(bundle, "config.json"), drop, true)
	case "exec":
		if process := flagValue(flags, "--process", "-p"); process != "" {
			return edit(process, drop, false)
		}
	}
	return nil
}

// subcommand finds runc's subcommand after its global flags, and the arguments after it.
func subcommand(args []string) (string, []string) {
	valued := map[string]bool{"--root": true, "--log": true, "--log-format": true, "--criu": true, "--rootless": true}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "-") {
			return arg, args[i+1:]
		}
		if valued[arg] {
			i++
		}
	}
	return "", nil
}

func flagValue(args []string, long, short string) string {
	for i, arg := range args {
		if (arg == long || arg == short) && i+1 < len(args) {
			return args[i+1]
		}
		if value, ok := strings.CutPrefix(arg, long+"="); ok {
			return value
		}
	}
	return ""
}

// edit removes the dropped names from every capability set in a spec (or process) file,
// keeping every other field byte-for-byte in meaning (numbers stay exact).
func edit(path string, drop map[string]bool, isSpec bool) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]any
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.UseNumber()
	if err := decoder.Decode(&doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	process := doc
	if isSpec {
		p, ok := doc["process"].(map[string]any)
		if !ok {
			return nil
		}
		process = p
	}
	caps, ok := process["capabilities"].(map[string]any)
	if !ok {
		return nil
	}
	for _, set := range capabilitySets {
		names, ok := caps[set].([]any)
		if !ok {
			continue
		}
		kept := make([]any, 0, len(names))
		for _, name := range names {
			if s, _ := name.(string); !drop[s] {
				kept = append(kept, name)
			}
		}
		caps[set] = kept
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, info.Mode().Perm())
}

// findRunc is the first runc on PATH that is not this program.
func findRunc() (string, error) {
	self, _ := os.Executable()
	for _, dir := range filepath.SplitList(os.Getenv("PATH") + ":/usr/sbin:/usr/bin:/usr/local/sbin") {
		candidate := filepath.Join(dir, "runc")
		if info, err := os.Stat(candidate); err == nil && !info.IsDir() {
			if resolved, _ := filepath.EvalSymlinks(candidate); resolved != self {
				return candidate, nil
			}
		}
	}
	return "", fmt.Errorf("no runc on PATH")
}
