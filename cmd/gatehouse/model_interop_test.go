package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

// modelCells: a model pushed as an OCI artifact (gatehouse push model) is
// signed and attested by the real cosign CLI exactly as an image is, and
// gatehouse reads those on the artifact's manifest digest; the VSA of
// `check --attest` on the model is accepted by `cosign verify-attestation`
// on that digest. A hostile model, signed and attested, is still denied
// and gets no VSA; an unsigned one is denied with the cosign command to
// run.
func (s *interopSuite) modelCells(t *testing.T, reg *testRegistry, predicate string) {
	fs := signatureFormats(s.cosign.trustedRoot)
	atts := attestationFormats(s.cosign.trustedRoot, predicate)
	for _, tt := range []struct {
		name      string
		sig, prov cosignFormat
	}{
		{"cosign-tag", fs[0], atts[0]},
		{"bundle", fs[1], atts[1]},
	} {
		prefix := "model-" + tt.name + "/" + reg.name + "/"
		s.m.run(t, prefix+"both-ways/signed-attested-gated-vsa", func(t *testing.T) {
			pinned := pushModel(t, "testdata/models/clean", "oci://"+reg.host+"/interop/model-"+tt.name+":v1")
			ref := strings.TrimPrefix(pinned, "oci://")
			s.sign(t, tt.sig, s.cosign.key, ref)
			s.sign(t, tt.prov, s.cosign.key, ref)
			if r := s.verify(t, tt.sig, s.cosign.pub, ref); r.code != 0 {
				s.m.fatalf(t, "cosign verify of the model artifact it signed (harness): %s", lastLine(r.stderr))
			}
			r := s.check(t, "--env", "models", "--attest", "--key", s.cosign.key, "model:"+pinned)
			s.expect(t, "check --attest of the signed, attested clean model", r, 0, "allowed in models")
			if !strings.Contains(r.stderr, "verification summary for") {
				s.m.fatalf(t, "check --attest wrote no VSA:\n%s", r.stderr)
			}
			v := s.cosign.run(t, nil, "verify-attestation", "--key", s.cosign.pub, "--insecure-ignore-tlog=true",
				"--trusted-root", s.cosign.trustedRoot, "--type", vsaType, ref)
			if v.code != 0 {
				s.m.fatalf(t, "cosign verify-attestation --type %s rejects the model's VSA: %s", vsaType, lastLine(v.stderr))
			}
			_, dg, _ := strings.Cut(ref, "@")
			if err := statementsName(v.stdout, vsaType, dg); err != nil {
				s.m.fatalf(t, "cosign verify-attestation: %v\n%s", err, v.stdout)
			}
			if !vsaResourceIs(v.stdout, pinned) {
				s.m.fatalf(t, "the model's VSA does not name resourceUri %s:\n%s", pinned, v.stdout)
			}
		})
		s.m.run(t, prefix+"cosign-to-gatehouse/hostile-signed-denied-no-vsa", func(t *testing.T) {
			pinned := pushModel(t, "testdata/models/evil", "oci://"+reg.host+"/interop/model-evil-"+tt.name+":v1")
			ref := strings.TrimPrefix(pinned, "oci://")
			s.sign(t, tt.sig, s.cosign.key, ref)
			s.sign(t, tt.prov, s.cosign.key, ref)
			r := s.check(t, "--env", "models", "--attest", "--key", s.cosign.key, "model:"+pinned)
			s.expect(t, "check --attest of a signed, attested hostile model", r, 1, "model_scan/")
			if strings.Contains(r.stderr, "verification summary for") {
				s.m.fatalf(t, "a denied model got a VSA:\n%s", r.stderr)
			}
			v := s.cosign.run(t, nil, "verify-attestation", "--key", s.cosign.pub, "--insecure-ignore-tlog=true",
				"--trusted-root", s.cosign.trustedRoot, "--type", vsaType, ref)
			if v.code == 0 {
				s.m.fatalf(t, "cosign finds a VSA on the denied model:\n%s", v.stdout)
			}
		})
	}
	s.m.run(t, "model-none/"+reg.name+"/cosign-to-gatehouse/unsigned", func(t *testing.T) {
		pinned := pushModel(t, "testdata/models/clean", "oci://"+reg.host+"/interop/model-unsigned:v1")
		s.expect(t, "check of an unsigned model artifact", s.check(t, "--env", "models", "model:"+pinned), 1,
			"signature/unsigned", "cosign sign --key")
	})
	s.m.run(t, "model-cosign-tag/"+reg.name+"/cosign-to-gatehouse/signature-of-another-model", func(t *testing.T) {
		f := fs[0]
		signed := pushModel(t, "testdata/models/clean", "oci://"+reg.host+"/interop/model-steal:signed")
		victim := t.TempDir()
		if err := os.WriteFile(filepath.Join(victim, "model.pkl"), []byte("\x80\x04K\x01."), 0o644); err != nil {
			t.Fatal(err)
		}
		other := pushModel(t, victim, "oci://"+reg.host+"/interop/model-steal:victim")
		s.sign(t, f, s.cosign.key, strings.TrimPrefix(signed, "oci://"))
		copyTagScheme(t, mustDigest(t, signed), mustDigest(t, other), f.tagSuffix)
		s.expect(t, "check of a model carrying another model's signature", s.check(t, "--env", "models", "model:"+other), 1,
			"signature/no_valid_signature")
	})
}

// mustDigest parses a pinned oci://REGISTRY/REPO@sha256:… reference.
func mustDigest(t *testing.T, pinned string) name.Digest {
	t.Helper()
	d, err := name.NewDigest(strings.TrimPrefix(pinned, "oci://"), name.Insecure)
	if err != nil {
		t.Fatalf("%s: %v", pinned, err)
	}
	return d
}

// vsaResourceIs reports whether one of the envelopes cosign printed holds a
// VSA whose resourceUri is uri.
func vsaResourceIs(stdout, uri string) bool {
	for l := range strings.Lines(stdout) {
		var env struct {
			Payload string `json:"payload"`
		}
		if json.Unmarshal([]byte(l), &env) != nil {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			continue
		}
		var st struct {
			PredicateType string `json:"predicateType"`
			Predicate     struct {
				ResourceURI string `json:"resourceUri"`
			} `json:"predicate"`
		}
		if json.Unmarshal(b, &st) == nil && st.PredicateType == vsaType && st.Predicate.ResourceURI == uri {
			return true
		}
	}
	return false
}
