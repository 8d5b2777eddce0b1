package gatehouse.gates.strings

# A hand-written policy that denies with plain strings and no warn rule.
deny contains "always denied" if input.subject.kind == "dataset"
