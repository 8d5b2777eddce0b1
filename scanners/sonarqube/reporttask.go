// Package sonarqube is the SonarQube / SonarCloud collector: it finds the
// scanner's report-task.txt, waits for the server's background task, and
// fetches the quality-gate status and the new-code issue counts of that
// exact analysis. The evidence is SonarQube's own project_status response
// with the task and issue counts beside it.
package sonarqube

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
)

// ReportTask is the scanner's report-task.txt (ReportPublisher.dumpMetadata).
type ReportTask struct {
	Organization  string // SonarCloud only
	ProjectKey    string
	ServerURL     string
	ServerVersion string
	DashboardURL  string
	CETaskID      string
	CETaskURL     string
	// Path is where the file was read from.
	Path string
}

// ReportTaskPlaces are where scanners write report-task.txt, relative to
// the project: the CLI, Maven, Gradle and .NET scanners.
var ReportTaskPlaces = []string{
	".scannerwork/report-task.txt",
	"target/sonar/report-task.txt",
	"build/sonar/report-task.txt",
	".sonarqube/out/.sonar/report-task.txt",
}

// maxReportTaskBytes bounds the file: a real one is a few hundred bytes.
const maxReportTaskBytes = 64 << 10

// ErrNoReportTask means no report-task.txt was found in any usual place.
var ErrNoReportTask = errors.New("no report-task.txt found")

// FindReportTask returns the first report-task.txt under dir in the
// usual places.
func FindReportTask(dir string) (string, error) {
	for _, p := range ReportTaskPlaces {
		full := filepath.Join(dir, p)
		if st, err := os.Stat(full); err == nil && !st.IsDir() {
			return full, nil
		}
	}
	return "", fmt.Errorf("%w in %s (looked in %s): run the SonarQube scanner first, set the sonarqube gate's report_task param, or pass --evidence sonarqube=FILE",
		ErrNoReportTask, dir, strings.Join(ReportTaskPlaces, ", "))
}

// ReadReportTask reads and parses a report-task.txt file.
func ReadReportTask(path string) (*ReportTask, error) {
	data, err := readlimit.File(path, maxReportTaskBytes)
	if err != nil {
		return nil, fmt.Errorf("report-task.txt: %w", err)
	}
	rt, err := ParseReportTask(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rt.Path = path
	return rt, nil
}

// ParseReportTask parses the key=value lines of report-task.txt.
func ParseReportTask(data []byte) (*ReportTask, error) {
	if len(data) > maxReportTaskBytes {
		return nil, fmt.Errorf("larger than %d KiB: not a report-task.txt", maxReportTaskBytes>>10)
	}
	rt := &ReportTask{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		k, v, ok := strings.Cut(text, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: %q is not key=value", line, truncate(text, 80))
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "organization":
			rt.Organization = v
		case "projectKey":
			rt.ProjectKey = v
		case "serverUrl":
			rt.ServerURL = v
		case "serverVersion":
			rt.ServerVersion = v
		case "dashboardUrl":
			rt.DashboardURL = v
		case "ceTaskId":
			rt.CETaskID = v
		case "ceTaskUrl":
			rt.CETaskURL = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, req := range []struct{ name, v string }{{"serverUrl", rt.ServerURL}, {"ceTaskId", rt.CETaskID}} {
		if req.v == "" {
			return nil, fmt.Errorf("no %s: not a complete report-task.txt", req.name)
		}
	}
	for _, u := range []struct{ name, v string }{{"serverUrl", rt.ServerURL}, {"ceTaskUrl", rt.CETaskURL}} {
		if u.v == "" {
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return nil, fmt.Errorf("%s %q is not an http(s) URL", u.name, truncate(u.v, 80))
		}
	}
	return rt, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	// Server messages and file contents end up in logs: one line, no
	// terminal controls, no workflow commands.
	return textsafe.Escape(s)
}
