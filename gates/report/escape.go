package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
)

// One escaper per target. Every string that comes from outside (subject
// refs, file names, finding messages, waiver text, error messages) goes
// through the escaper of the format it is written in, so that nothing an
// attacker names can start a line, a workflow command, a table cell or an
// element of its own.

// escapeText makes s safe for one line of a log a person (or a CI runner
// scanning for "::" workflow commands) reads: internal/textsafe.Escape,
// which shows line breaks, control characters, bidi overrides and invalid
// UTF-8 as Go escapes and breaks up "::". The result holds no line break.
func escapeText(s string) string { return textsafe.Escape(s) }

// escapeWorkflowData escapes the message of a GitHub Actions workflow
// command with the runner's own escaping (% CR LF → %25 %0D %0A, which it
// turns back into a multi-line message); other control characters, which
// the runner would print raw into the log, are then made visible by
// escapeText.
func escapeWorkflowData(s string) string {
	return escapeText(workflowData.Replace(s))
}

// escapeWorkflowProperty escapes a workflow command property value: as data,
// plus ':' and ',' which end a property.
func escapeWorkflowProperty(s string) string {
	return escapeText(workflowProperty.Replace(s))
}

var (
	workflowData     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	workflowProperty = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// escapeMarkdown makes s inert inside GitHub-flavoured Markdown, including a
// table cell: HTML specials and the table pipe become entities, other
// Markdown punctuation is backslash-escaped, and line breaks (with other
// control characters) are shown as escapes by escapeText. Outside strings
// are never put in code spans, where neither form of escape works.
func escapeMarkdown(s string) string {
	return markdown.Replace(escapeText(s))
}

var markdown = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;", "|", "&#124;", "`", "&#96;",
	`\`, `\\`, "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "(", `\(`, ")", `\)`,
	"#", `\#`, "!", `\!`, "~", `\~`, ":", `\:`, "@", `\@`,
)

// encodeJSON writes v as indented JSON (the target of the json and sarif
// formats). encoding/json escapes C0 controls and U+2028/U+2029 but writes
// C1 controls raw, and U+0085 (NEL) is a line break to some readers: they
// are escaped too. Raw C1 characters can only stand inside JSON strings,
// where \u escapes mean the same character, so the document is unchanged.
func encodeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	b := buf.Bytes()
	if !hasC1(b) {
		_, err := w.Write(b)
		return err
	}
	out := make([]byte, 0, len(b)+64)
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r >= 0x80 && r <= 0x9f && n == 2 {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	_, err := w.Write(out)
	return err
}

// hasC1 reports whether b holds a UTF-8 encoded C1 control (0xC2 0x80–0x9F).
func hasC1(b []byte) bool {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == 0xc2 && b[i+1] >= 0x80 && b[i+1] <= 0x9f {
			return true
		}
	}
	return false
}
