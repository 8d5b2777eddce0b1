package modelcard

import (
	"regexp"
	"strconv"
	"strings"
)

// heading is one ATX heading ("## Training data") and the text under it,
// up to the next heading of the same or a higher level.
type heading struct {
	level int
	title string
	body  string
}

// headings splits Markdown into headings, skipping fenced code blocks.
// Setext headings (underlined with === or ---) are not read.
func headings(md string) []heading {
	lines := strings.Split(md, "\n")
	type pos struct{ level, line int }
	var hs []heading
	var at []pos
	fence := ""
	for i, ln := range lines {
		t := strings.TrimSpace(ln)
		if fence != "" {
			if strings.HasPrefix(t, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") {
			fence = t[:3]
			continue
		}
		level := 0
		for level < len(t) && t[level] == '#' {
			level++
		}
		if level == 0 || level > 6 || (len(t) > level && t[level] != ' ' && t[level] != '\t') {
			continue
		}
		title := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(t[level:]), "#"))
		hs = append(hs, heading{level: level, title: title})
		at = append(at, pos{level, i})
	}
	for k := range hs {
		end := len(lines)
		for m := k + 1; m < len(hs); m++ {
			if at[m].level <= at[k].level {
				end = at[m].line
				break
			}
		}
		hs[k].body = strings.Join(lines[at[k].line+1:end], "\n")
	}
	return hs
}

// sectionsOf tells which sections a heading title stands for.
func sectionsOf(title string) []string {
	t := strings.ToLower(title)
	t = strings.ReplaceAll(t, "&", "and")
	t = strings.Trim(t, " :.*_")
	var out []string
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(t, s) {
				return true
			}
		}
		return false
	}
	if has("intended use", "use case", "downstream use", "intended purpose") || t == "uses" || t == "direct use" {
		out = append(out, IntendedUse)
	}
	if has("training data", "training dataset", "training and evaluation data", "train data") || t == "data" || t == "dataset" || t == "datasets" {
		out = append(out, TrainingData)
	}
	if has("evaluation", "results", "performance", "benchmark", "metrics") && !has("training") {
		out = append(out, Evaluation)
	}
	if has("limitation", "risks", "out-of-scope", "out of scope", "bias") {
		out = append(out, Limitations)
	}
	if has("ethic", "responsible ai", "societal impact") {
		out = append(out, EthicalConsiderations)
	}
	return out
}

const maxSubstanceBytes = 4 << 10

var (
	htmlComment  = regexp.MustCompile(`(?s)<!--.*?-->`)
	placeholder  = regexp.MustCompile(`(?i)\[?\b(?:more information needed|more info needed|needs more information|to be added|todo|tbd|coming soon|optional)\b\]?\.?`)
	wordRE       = regexp.MustCompile(`[\pL\pN]{2,}`)
	headingMarks = regexp.MustCompile(`(?m)^\s{0,3}#{1,6}\s*`)
	// "- Accuracy: 0.9123" or "* F1 score: 91.2%"
	metricLine = regexp.MustCompile(`^\s*[-*+]\s+([\pL][\pL\pN _\-/@().]{0,60}?)\s*:\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(%?)\s*$`)
)

// substance returns the text of a section body without HTML comments and
// template placeholders, and whether enough of it is left to count.
func substance(body string) (text string, placeholderOnly bool) {
	// Presence needs a few words and the excerpt a few hundred bytes: a
	// long section is judged on its start, so nested headings of a large
	// card do not cost size × depth.
	if len(body) > maxSubstanceBytes {
		body = body[:maxSubstanceBytes]
	}
	t := htmlComment.ReplaceAllString(body, " ")
	t = headingMarks.ReplaceAllString(t, "")
	had := strings.TrimSpace(t) != ""
	t = placeholder.ReplaceAllString(t, " ")
	if len(wordRE.FindAllString(t, 3)) < 3 {
		return "", had
	}
	return t, false
}

// markdown fills the sections (and metrics) from the Markdown body.
func (ev *Evidence) markdown(name, md string, limits Limits) {
	reasons := map[string]string{}
	for _, h := range headings(md) {
		secs := sectionsOf(h.title)
		if len(secs) == 0 || ev.allPresent(secs) {
			continue
		}
		text, ph := substance(h.body)
		for _, s := range secs {
			if ev.Sections[s].Present {
				continue
			}
			src := name + " section: " + h.title
			if text == "" {
				if _, seen := reasons[s]; !seen {
					if ph {
						reasons[s] = "heading \"" + h.title + "\" holds only a placeholder or too little text"
					} else {
						reasons[s] = "heading \"" + h.title + "\" is empty"
					}
				}
				continue
			}
			ev.Sections[s] = Section{Present: true, Source: src, Excerpt: excerpt(text, limits.ExcerptBytes)}
			if s == Evaluation && len(ev.Metrics) == 0 {
				ev.listMetrics(h.body, src, limits)
			}
		}
	}
	// Cards written by transformers' Trainer give results under the title:
	// "It achieves the following results on the evaluation set:".
	if len(ev.Metrics) == 0 {
		if i := strings.Index(strings.ToLower(md), "results on the evaluation set"); i >= 0 {
			src := name + ": results on the evaluation set"
			ev.listMetrics(md[i:], src, limits)
			if len(ev.Metrics) > 0 && !ev.Sections[Evaluation].Present {
				ev.Sections[Evaluation] = Section{Present: true, Source: src, Excerpt: metricsExcerpt(ev.Metrics, limits.ExcerptBytes)}
			}
		}
	}
	for s, r := range reasons {
		if !ev.Sections[s].Present {
			ev.Sections[s] = Section{Reason: r}
		}
	}
}

// listMetrics reads "- Name: number" list items from the first list in
// text (a blank line or other text after the list ends it).
func (ev *Evidence) listMetrics(text, src string, limits Limits) {
	inList := false
	for _, ln := range strings.Split(text, "\n") {
		m := metricLine.FindStringSubmatch(ln)
		if m == nil {
			if inList && strings.TrimSpace(ln) == "" {
				return
			}
			continue
		}
		inList = true
		var val any = m[2] + m[3]
		if m[3] == "" {
			f, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				continue
			}
			val = f
		}
		ev.addMetric(Metric{Name: m[1], Value: val, Source: src}, limits)
	}
}

func (ev *Evidence) allPresent(secs []string) bool {
	for _, s := range secs {
		if !ev.Sections[s].Present {
			return false
		}
	}
	return true
}
