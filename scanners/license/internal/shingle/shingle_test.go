package shingle

import (
	"slices"
	"testing"
)

func TestStripCopyright(t *testing.T) {
	for in, want := range map[string]string{
		"Copyright (c) 2024 Acme\nPermission is granted":                     "\nPermission is granted",
		"MIT License\n\nCopyright 2009 The Go Authors.\nRedistribution":      "MIT License\n\n\nRedistribution",
		" * Copyright © Example\nx":                                          "\nx",
		"(c) 2001 X\nterms\n# copyright [yyyy] [name]":                       "\nterms\n",
		"copyright notice and this permission notice\nCopyright holders may": "copyright notice and this permission notice\nCopyright holders may",
		"no notice at all": "no notice at all",
		"":                 "",
	} {
		if got := StripCopyright(in); got != want {
			t.Errorf("StripCopyright(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWords(t *testing.T) {
	got := Words("1. The Licence (c) version 2.0, copyright OWNER; Organisation's ÄRGER")
	want := []string{"the", "license", "version", "2.0", "copyright", "holder", "organization", "ärger"}
	if !slices.Equal(got, want) {
		t.Errorf("Words = %q, want %q", got, want)
	}
}

func FuzzWords(f *testing.F) {
	f.Add("Copyright (c) 2024\n1. The licence 2.0 \xff\xfe ©")
	f.Fuzz(func(t *testing.T, s string) {
		ws := Words(StripCopyright(s))
		for _, w := range ws {
			if w == "" {
				t.Fatal("empty word")
			}
		}
		_ = Hashes(ws)
	})
}
