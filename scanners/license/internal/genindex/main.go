// Command genindex builds scanners/license/spdx_index.bin, the shingle
// index the licence detector matches texts against, from the SPDX License
// List's texts (the npm package spdx-license-list that
// scripts/spdx-texts.sh installs):
//
//	go run ./scanners/license/internal/genindex -spdx "$(scripts/spdx-texts.sh)" -out scanners/license/spdx_index.bin
//
// The index holds no licence text, only 32-bit hashes of every 5-word
// shingle of each normalised text. Licences whose normalised texts are
// identical share one entry (the list repeats GNU texts under -only,
// -or-later and the deprecated id); deprecated ids become their modern
// spelling (license.Normalize).
//
// Format (little endian): "GHLI2\n", u16 len + list version, u32 entries;
// per entry: u16 len + id, u8 n + n × (u16 len + id) unresolved ids, u32
// distinct shingles; then u32 M, M sorted u32 hashes, M+1 u32 offsets into
// the postings, and the postings as u16 entry numbers.
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/gatehouse-dev/gatehouse/scanners/license"
	"github.com/gatehouse-dev/gatehouse/scanners/license/internal/shingle"
)

// placeholder drops the list's "insert GPL v2 license text here" lines
// (the deprecated "-with-…-exception" texts hold the exception only).
var placeholder = regexp.MustCompile(`(?im)^\s*insert GPL v\d license text here\s*$`)

type entry struct {
	id         string
	unresolved []string
	hashes     []uint32 // distinct, sorted
}

func main() {
	spdx := flag.String("spdx", "", "folder of the npm package spdx-license-list (licenses/*.json, readme.md)")
	out := flag.String("out", "spdx_index.bin", "index file to write")
	flag.Parse()
	if *spdx == "" {
		log.Fatal("genindex: -spdx FOLDER is required (scripts/spdx-texts.sh prints it)")
	}
	readme, err := os.ReadFile(filepath.Join(*spdx, "readme.md"))
	if err != nil {
		log.Fatal(err)
	}
	version := "unknown"
	if _, rest, ok := bytes.Cut(readme, []byte("SPDX License List version ")); ok {
		version = strings.Fields(string(rest))[0]
	}
	files, err := filepath.Glob(filepath.Join(*spdx, "licenses", "*.json"))
	if err != nil || len(files) == 0 {
		log.Fatalf("genindex: no licenses/*.json under %s", *spdx)
	}
	sort.Strings(files)
	groups := map[string][]string{} // shingle set -> list ids
	sets := map[string][]uint32{}
	var order []string
	add := func(id, text string) {
		hs := shingle.Hashes(shingle.Words(shingle.StripCopyright(text)))
		slices.Sort(hs)
		hs = slices.Compact(hs)
		key := fmt.Sprint(hs)
		if _, ok := groups[key]; !ok {
			order = append(order, key)
			sets[key] = hs
		}
		groups[key] = append(groups[key], id)
	}
	for _, f := range files {
		id := strings.TrimSuffix(filepath.Base(f), ".json")
		if strings.HasSuffix(id, "+") {
			// Deprecated "GPL-2.0+" and kin: older renderings of the
			// -or-later texts; the list has the modern ids, and a text
			// alone cannot say "or later" (notices do).
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			log.Fatal(err)
		}
		var doc struct {
			LicenseText string `json:"licenseText"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			log.Fatalf("%s: %v", f, err)
		}
		text := placeholder.ReplaceAllString(doc.LicenseText, "")
		add(id, text)
		// The list's LGPL-3.0 text is the LGPL's own terms followed by
		// the GPL-3.0; a COPYING.LESSER holds the first part only.
		if strings.HasPrefix(id, "LGPL-3.0") {
			if i := strings.Index(text, "GNU GENERAL PUBLIC LICENSE\nVersion 3"); i > 0 {
				add(id, text[:i])
			}
		}
	}
	var entries []entry
	for _, key := range order {
		entries = append(entries, makeEntry(groups[key], sets[key]))
	}
	data := encode(version, entries)
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "genindex: SPDX %s, %d texts, %d entries, %d bytes\n", version, len(files), len(entries), len(data))
}

// makeEntry names a group of list ids with identical texts: the modern
// spellings, deduplicated; the first (an active id before a deprecated one)
// is the id, the rest and the other GNU reading are unresolved.
func makeEntry(ids []string, hs []uint32) entry {
	var names []string
	explicitOrLater := false
	for _, id := range ids {
		n := license.Normalize(id)
		if strings.HasSuffix(id, "+") {
			explicitOrLater = true
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	// Prefer -only (the stricter reading) as the id of a GNU group, then
	// the shortest id (MPL-2.0 before MPL-2.0-no-copyleft-exception, whose
	// text is the same: the other stays as an unresolved reading).
	sort.SliceStable(names, func(i, j int) bool {
		oi, oj := strings.Contains(names[i], "-only"), strings.Contains(names[j], "-only")
		if oi != oj {
			return oi
		}
		return len(names[i]) < len(names[j])
	})
	e := entry{id: names[0], unresolved: names[1:], hashes: hs}
	if !explicitOrLater {
		for _, n := range names {
			if other, ok := license.OrLaterPair(n); ok && !slices.Contains(names, other) && !slices.Contains(e.unresolved, other) {
				e.unresolved = append(e.unresolved, other)
			}
		}
	}
	return e
}

func encode(version string, entries []entry) []byte {
	var b bytes.Buffer
	b.WriteString("GHLI2\n")
	str := func(s string) {
		binary.Write(&b, binary.LittleEndian, uint16(len(s)))
		b.WriteString(s)
	}
	str(version)
	binary.Write(&b, binary.LittleEndian, uint32(len(entries)))
	post := map[uint32][]uint16{}
	for i, e := range entries {
		str(e.id)
		b.WriteByte(byte(len(e.unresolved)))
		for _, u := range e.unresolved {
			str(u)
		}
		binary.Write(&b, binary.LittleEndian, uint32(len(e.hashes)))
		for _, h := range e.hashes {
			post[h] = append(post[h], uint16(i))
		}
	}
	keys := make([]uint32, 0, len(post))
	for h := range post {
		keys = append(keys, h)
	}
	slices.Sort(keys)
	binary.Write(&b, binary.LittleEndian, uint32(len(keys)))
	binary.Write(&b, binary.LittleEndian, keys)
	off := uint32(0)
	offsets := make([]uint32, 0, len(keys)+1)
	for _, h := range keys {
		offsets = append(offsets, off)
		off += uint32(len(post[h]))
	}
	offsets = append(offsets, off)
	binary.Write(&b, binary.LittleEndian, offsets)
	for _, h := range keys {
		binary.Write(&b, binary.LittleEndian, post[h])
	}
	return b.Bytes()
}
