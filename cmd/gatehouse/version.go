package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// linkedModules are the libraries whose version decides what gatehouse
// accepts and writes; `gatehouse version` names the ones linked in.
var linkedModules = []struct{ name, path string }{
	{"opa", "github.com/open-policy-agent/opa"},
	{"cosign", "github.com/sigstore/cosign/v2"},
	{"go-containerregistry", "github.com/google/go-containerregistry"},
	{"sigstore-go", "github.com/sigstore/sigstore-go"},
	{"in-toto-attestation", "github.com/in-toto/attestation"},
}

// commit is set by `make build` (-ldflags -X main.commit=...) for builds
// without VCS stamping (-buildvcs=false); the build info wins when present.
var commit string

// versionInfo is what `gatehouse version` reports, from the build info.
type versionInfo struct {
	Version   string            `json:"version"`
	Commit    string            `json:"commit,omitempty"`
	Modified  bool              `json:"modified,omitempty"`
	GoVersion string            `json:"go_version"`
	Platform  string            `json:"platform"`
	Modules   map[string]string `json:"modules"`
}

func buildVersion() versionInfo {
	v := versionInfo{Version: "devel", Commit: commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, Modules: map[string]string{}}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	for _, dep := range bi.Deps {
		for _, m := range linkedModules {
			if dep.Path == m.path {
				if dep.Replace != nil {
					dep = dep.Replace
				}
				v.Modules[m.name] = dep.Version
			}
		}
	}
	return v
}

func (v versionInfo) writeText(w io.Writer) {
	commit := v.Commit
	if commit == "" {
		commit = "unknown"
	} else if v.Modified {
		commit += " (modified)"
	}
	fmt.Fprintf(w, "gatehouse %s\n", v.Version)
	row := func(k, val string) { fmt.Fprintf(w, "  %-21s %s\n", k, val) }
	row("commit", commit)
	row("go", v.GoVersion+" "+v.Platform)
	for _, m := range linkedModules {
		if ver, ok := v.Modules[m.name]; ok {
			row(m.name, ver)
		}
	}
}

func init() {
	var format string
	c := &cobra.Command{
		Use:   "version",
		Short: "Print gatehouse's version and the versions of OPA, cosign, go-containerregistry and sigstore-go linked in",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := buildVersion()
			switch format {
			case "json":
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			case "text":
				v.writeText(cmd.OutOrStdout())
				return nil
			}
			return undecided(fmt.Errorf("--format %q: want text or json", format))
		},
	}
	c.Flags().StringVar(&format, "format", "text", "output format: text or json")
	rootCmd.AddCommand(c)
	// --version prints the same text (a template with no actions in it).
	v := buildVersion()
	var b strings.Builder
	v.writeText(&b)
	rootCmd.Version = v.Version
	rootCmd.SetVersionTemplate(b.String())
}
