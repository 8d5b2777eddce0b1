package jinja

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRealTemplatesClean(t *testing.T) {
	files, _ := filepath.Glob("testdata/benign/*.jinja")
	if len(files) < 10 {
		t.Fatalf("only %d benign templates found", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Analyze(string(b))
		if err != nil || len(got) > 0 {
			t.Errorf("%s: findings %+v, err %v", filepath.Base(f), got, err)
		}
	}
}

// benignTemplates are shapes real templates use that a spelling-based
// check gets wrong or an over-eager analysis would flag.
var benignTemplates = []string{
	`{% set ns = namespace(found=false, idx=-1) %}{% for m in messages %}{% if m.role == 'system' %}{% set ns.found = true %}{% set ns.idx = loop.index0 %}{% endif %}{% endfor %}{{ messages[ns.idx]['content'] if ns.found }}`,
	`{{ messages[messages|length - 1]['content'] }}{{ messages[-1].content.split('</think>')[-1].strip() }}`,
	`{%- macro render(t) -%}{{ t.function.name }}({% for k, v in t.function.parameters.properties.items() %}{{ k }}: {{ v['type'] }}{% endfor %}){%- endmacro -%}{% for t in tools %}{{ render(t) }}{% endfor %}`,
	`{% for message in messages %}{{ '<|' + message['role'] + '|>\n' + message['content'] | trim + eos_token }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}`,
	`{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{{ strftime_now("%d %b %Y") }}`,
	`{% set keys = ['role', 'content'] %}{% for m in messages %}{% for k in keys %}{{ m[k] }}{% endfor %}{% endfor %}`,
	`{{ tools | tojson(indent=4) }}{% for m in messages | selectattr('role', 'equalto', 'user') %}{{ m.content }}{% endfor %}{{ messages | map(attribute='content') | join('\n') }}`,
	`{%- if tool_call.arguments is string %}{{ tool_call.arguments }}{% else %}{{ tool_call.arguments | tojson }}{% endif %}{{ '{"name": "' ~ tool_call.name ~ '"}' }}`,
	`{% raw %}not {{ parsed }}{% endraw %}`,
	`{% set roles = ['user', 'assistant'] %}{% for m in messages %}{% if m.role != roles[loop.index0 % roles|length] %}{{ raise_exception('alternate') }}{% endif %}{{ m[('con' ~ 'tent')] }}{% endfor %}`,
	`{% set idx = (messages|length - 1) // 2 %}{{ messages[idx * 2 + 1]['content'] }}{{ messages[(messages|length) - 1].role }}`,
}

func TestBenignShapes(t *testing.T) {
	for _, tmpl := range benignTemplates {
		got, err := Analyze(tmpl)
		if err != nil || len(got) > 0 {
			t.Errorf("%s\n  findings %+v, err %v", tmpl, got, err)
		}
	}
}

// hostileTemplates reach Python internals; none spells a dunder literally
// except the first few.
var hostileTemplates = []string{
	`{{ ''.__class__.__mro__[1].__subclasses__() }}`,
	`{{ lipsum.__globals__['os'].popen('id').read() }}`,
	`{{ x|attr('\x5f\x5fclass\x5f\x5f') }}`,
	`{{ os.system('id') }}`,
	`{% set u = '_' * 2 %}{{ ()|attr(u ~ 'class' ~ u) }}`,
	`{{ ()|attr("%c%c"|format(95,95) ~ "class" ~ "%c%c"|format(95,95)) }}`,
	`{% set a = ['_','_','cla','ss','_','_']|join %}{{ cycler[a] }}`,
	`{{ (dict(__cl=1)|first ~ 'ass__') }}{{ namespace[dict(__init__=1)|first] }}`,
	`{{ messages|map(attribute='_'~'_class__')|list }}`,
	`{% set n = '__ssalc__'|reverse %}{{ lipsum[n] }}`,
	`{% set p = '{0.__globals__}' %}{{ p.format(lipsum) }}`,
	`{{ lipsum|attr((lipsum|string)[0]) }}`,
	`{% set x = '' %}{% for c in ['_','_','g','l','o','b','a','l','s','_','_'] %}{% set x = x ~ c %}{% endfor %}{{ lipsum[x] }}`,
	`{% macro get(o, n) %}{{ o|attr(n) }}{% endmacro %}{{ get(lipsum, '_' * 2 ~ 'globals' ~ '_' * 2) }}`,
	`{% set n = 'safe' %}{% if false %}{% set n = '__class__' %}{% endif %}{{ ()|attr(n) }}`,
	`{{ ''['\x5f\x5fclass\x5f\x5f'] }}`,
	`{{ ()|attr('{:c}{:c}class{:c}{:c}'.format(95,95,95,95)) }}`,
	`{{ cycler.__init__.__globals__.os.popen('id').read() }}`,
	`{% include 'evil.j2' %}`,
	`{{ lipsum|attr(('_'|replace('_', '__')) ~ 'GLOBALS__'|lower) }}`,
	`{{ x[('%s%s' % ('_', '_')) ~ 'class__'] }}`,
	`{{ self._TemplateReference__context }}`,
	`{{ ({}|selectattr('__class__')|list) }}`,
	`{% set a %}__class__{% endset %}{{ ()|attr(a) }}`,
	`{% set n = messages|length * 0 + 95 %}{{ ()|attr("%c%cclass%c%c"|format(n, n, n, n)) }}`,
	`{% set n = messages|length * 0 + 95 %}{{ x["{:c}{:c}class{:c}{:c}".format(n, n, n, n)] }}`,
}

func TestHostile(t *testing.T) {
	for _, tmpl := range hostileTemplates {
		got, err := Analyze(tmpl)
		if err != nil {
			t.Errorf("%s: %v", tmpl, err)
			continue
		}
		if len(got) == 0 {
			t.Errorf("not found: %s", tmpl)
		}
	}
}

func TestSyntaxAndLimits(t *testing.T) {
	for _, tmpl := range []string{`{{ x `, `{% if x %}`, `{% for %}`, `{{ 'a }}`, `{% bogus %}`, `{{ ) }}`} {
		if _, err := Analyze(tmpl); !errors.Is(err, ErrSyntax) {
			t.Errorf("%q: err = %v, want ErrSyntax", tmpl, err)
		}
	}
	deep := strings.Repeat("(", 10000) + "1" + strings.Repeat(")", 10000)
	if _, err := Analyze("{{ " + deep + " }}"); !errors.Is(err, ErrLimit) {
		t.Errorf("deep: err = %v, want ErrLimit", err)
	}
	loops := strings.Repeat("{% for a in range(200) %}", 6) + "{{ a }}" + strings.Repeat("{% endfor %}", 6)
	if _, err := Analyze(loops); !errors.Is(err, ErrLimit) {
		t.Errorf("nested unrolled loops: err = %v, want ErrLimit", err)
	}
	if _, err := Analyze(strings.Repeat("x", MaxTemplateBytes+1)); !errors.Is(err, ErrLimit) {
		t.Errorf("huge: err = %v", err)
	}
}
