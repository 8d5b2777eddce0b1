package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/gatehouse-dev/gatehouse/scanners/model/jinja"
)

// Chat templates outside GGUF: transformers and the servers built on it
// (vLLM, TGI, SGLang) render chat_template from tokenizer_config.json,
// chat_template.json / processor_config.json (processors) and the
// chat_template.jinja files beside them. Each is judged by jinja.Judge;
// a template that reaches nothing adds no finding.

// templateJSON are the files transformers reads a chat_template key from.
var templateJSON = map[string]bool{"tokenizer_config.json": true, "chat_template.json": true,
	"processor_config.json": true, "preprocessor_config.json": true}

const (
	maxTemplateJSON  = 64 << 20 // a tokenizer_config.json read whole
	maxSniffedJSON   = 4 << 20  // other .json files searched for "chat_template"
	maxTemplateBytes = jinja.MaxTemplateBytes
)

// judgeTextTemplates judges the chat templates a text file holds.
func (s *scanner) judgeTextTemplates(r io.ReaderAt, size int64, loc, name string) {
	base := strings.ToLower(path.Base(name))
	ext := path.Ext(base)
	switch {
	case ext == ".jinja" || ext == ".j2":
		if size > maxTemplateBytes {
			s.notVerified(loc, "chat template file of %d bytes is over the %d-byte bound: not analysed", size, maxTemplateBytes)
			return
		}
		b, ok := s.readAll(r, size, loc)
		if !ok {
			return
		}
		s.judgeTemplate(loc, fmt.Sprintf("chat template file %q", base), string(b))
	case templateJSON[base] || ext == ".json" && size <= maxSniffedJSON:
		if size > maxTemplateJSON {
			s.notVerified(loc, "%s of %d bytes is over the %d-byte bound: its chat template is not checked", base, size, maxTemplateJSON)
			return
		}
		b, ok := s.readAll(r, size, loc)
		if !ok {
			return
		}
		if !bytes.Contains(b, []byte(`"chat_template"`)) {
			return
		}
		s.judgeTemplateJSON(b, loc, base)
	}
}

func (s *scanner) readAll(r io.ReaderAt, size int64, loc string) ([]byte, bool) {
	b := make([]byte, size)
	if n, err := r.ReadAt(b, 0); int64(n) < size {
		s.notVerified(loc, "cannot read: %v", err)
		return nil, false
	}
	return b, true
}

// judgeTemplateJSON reads chat_template from a JSON object: a string, or a
// list of {"name": ..., "template": ...} (named templates such as tool_use).
func (s *scanner) judgeTemplateJSON(b []byte, loc, base string) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		s.notVerified(loc, "%s mentions chat_template but is not a JSON object (%v): transformers cannot load it, so its template is not verified", base, err)
		return
	}
	raw, ok := doc["chat_template"]
	if !ok || string(raw) == "null" {
		return
	}
	var str string
	if err := json.Unmarshal(raw, &str); err == nil {
		s.judgeTemplate(loc+"#chat_template", "chat_template of "+base, str)
		return
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		s.notVerified(loc+"#chat_template", "chat_template of %s is neither a string nor a list of {name, template}: not verified", base)
		return
	}
	for i, e := range list {
		var name, tmpl string
		if err := json.Unmarshal(e["template"], &tmpl); err != nil {
			s.notVerified(fmt.Sprintf("%s#chat_template[%d]", loc, i), "chat_template entry %d of %s has no string \"template\": not verified", i, base)
			continue
		}
		_ = json.Unmarshal(e["name"], &name)
		where := fmt.Sprintf("%s#chat_template[%d]", loc, i)
		if name != "" {
			where = loc + "#chat_template." + name
		}
		s.judgeTemplate(where, fmt.Sprintf("chat_template %q of %s", name, base), tmpl)
	}
}

func (s *scanner) judgeTemplate(loc, what, tmpl string) {
	v := jinja.Judge(what, tmpl)
	if v.Severity != 0 {
		s.finding(v.Severity, loc, v.Reason)
	}
	if v.NotVerified != "" {
		s.notVerified(loc, "%s", v.NotVerified)
	}
}
