package model

import "testing"

func TestMemberNameEscape(t *testing.T) {
	for _, tc := range []struct {
		name string
		bad  bool
	}{
		{"model/data.pkl", false},
		{"./a/../b", false},
		{"a/b/../../c", false},
		{"../x", true},
		{"a/../../x", true},
		{`..\..\x`, true},
		{"/etc/cron.d/x", true},
		{`C:\Windows\x`, true},
		{"a\x00b", true},
		{"..foo/bar", false},
	} {
		if got := memberNameEscape(tc.name) != ""; got != tc.bad {
			t.Errorf("memberNameEscape(%q) = %v, want %v", tc.name, got, tc.bad)
		}
	}
}

func TestLinkEscape(t *testing.T) {
	for _, tc := range []struct {
		name, target string
		hard, bad    bool
	}{
		{"a/link", "../b", false, false},
		{"a/link", "../../b", false, true},
		{"link", "/etc/passwd", false, true},
		{"link", "weights.bin", false, false},
		{"a/b/link", "../../x", false, false},
		{"hard", "a/b", true, false},
		{"a/b/hard", "../x", true, true}, // hard link targets are from the archive root
		{"hard", "/etc/shadow", true, true},
	} {
		if got := linkEscape(tc.name, tc.target, tc.hard) != ""; got != tc.bad {
			t.Errorf("linkEscape(%q, %q, hard=%v) = %v, want %v", tc.name, tc.target, tc.hard, got, tc.bad)
		}
	}
}
