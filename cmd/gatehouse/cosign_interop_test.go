package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gatehouse-dev/gatehouse/attest/oci"
)

// The cosign interop suite: the real cosign CLI (GATEHOUSE_COSIGN, the
// version go.mod names) against the gatehouse binary, on two loopback
// registries: Debian's docker-registry 2.8 (Distribution, no referrers
// API: cosign falls back to the sha256-<hex> referrers tag) and
// go-containerregistry's registry (referrers API, reporting a referrer's
// config media type as its artifactType). Every cell is a subtest named
// format/registry/direction/case; the matrix of results is logged at the
// end. Offline: key pairs from cosign generate-key-pair, no Rekor or
// Fulcio (--tlog-upload=false, --insecure-ignore-tlog=true, an empty
// trusted root for cosign's bundle verification).

// provenancePredicate is the SLSA v1 predicate cosign attests; its builder
// and repository are what interopConfig trusts.
const provenancePredicate = "testdata/cosign/slsa-provenance-v1.json"

const interopConfig = `default_environment: interop
params:
  signature:
    keys: [cosign.pub]
  provenance:
    builders: ["https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0"]
    repositories: ["https://github.com/acme/*"]
environments:
  interop:
    gates:
      image: [signature, provenance]
  # signed: the gate set of the --attest runs (a full run of this
  # environment is what a VSA may state).
  signed:
    gates:
      image: [signature]
  # models: what a model artifact in a registry must show; the --attest
  # runs of modelCells run every gate of it.
  models:
    gates:
      model: [model_scan, signature, provenance]
`

// vsaType is the predicate type of gatehouse's VSA.
const vsaType = "https://slsa.dev/verification_summary/v1"

// cosignFormat is one way cosign attaches a signature or attestation.
type cosignFormat struct {
	name string
	env  []string // extra environment of cosign
	// sign is cosign's command (without --key and the image);
	// verify the cosign command that must accept what sign wrote.
	sign, verify []string
	// tagSuffix is ".sig"/".att" for cosign's tag scheme; "" when the
	// format attaches referrers (tampered by retargeting their subject).
	tagSuffix string
}

// signatureFormats and attestationFormats are every format cosign v2.6
// writes; trustedRoot is the empty trusted root its bundle verification
// needs offline.
func signatureFormats(trustedRoot string) []cosignFormat {
	return []cosignFormat{
		{name: "cosign-tag",
			sign:      []string{"sign", "--tlog-upload=false", "--yes"},
			verify:    []string{"verify", "--insecure-ignore-tlog=true"},
			tagSuffix: ".sig"},
		{name: "bundle",
			sign:   []string{"sign", "--tlog-upload=false", "--new-bundle-format", "--yes"},
			verify: []string{"verify", "--insecure-ignore-tlog=true", "--new-bundle-format", "--trusted-root", trustedRoot}},
		{name: "oci-1-1", env: []string{"COSIGN_EXPERIMENTAL=1"},
			sign:   []string{"sign", "--tlog-upload=false", "--registry-referrers-mode=oci-1-1", "--yes"},
			verify: []string{"verify", "--insecure-ignore-tlog=true", "--experimental-oci11"}},
	}
}

func attestationFormats(trustedRoot, predicate string) []cosignFormat {
	attest := []string{"attest", "--tlog-upload=false", "--type", "slsaprovenance1", "--predicate", predicate, "--yes"}
	return []cosignFormat{
		{name: "att-cosign-tag",
			sign:      attest,
			verify:    []string{"verify-attestation", "--insecure-ignore-tlog=true", "--type", "slsaprovenance1"},
			tagSuffix: ".att"},
		{name: "att-bundle",
			sign:   append(slices.Clone(attest), "--new-bundle-format"),
			verify: []string{"verify-attestation", "--insecure-ignore-tlog=true", "--new-bundle-format", "--trusted-root", trustedRoot, "--type", "slsaprovenance1"}},
	}
}

// interopSuite is what every cell shares.
type interopSuite struct {
	m      *matrix
	cosign *cosignCLI
	config string // gatehouse.yaml trusting cosign.pub
}

// sign runs f's cosign command with key on the image d.
func (s *interopSuite) sign(t *testing.T, f cosignFormat, key string, ref string) {
	t.Helper()
	args := append(append(slices.Clone(f.sign), "--key", key), ref)
	if r := s.cosign.run(t, f.env, args...); r.code != 0 {
		s.m.fatalf(t, "cosign %s: exit %d: %s", strings.Join(args, " "), r.code, lastLine(r.stderr))
	}
}

// verify runs f's cosign verification of ref with pub; it returns cosign's result.
func (s *interopSuite) verify(t *testing.T, f cosignFormat, pub string, ref string) runResult {
	t.Helper()
	return s.cosign.run(t, f.env, append(append(slices.Clone(f.verify), "--key", pub), ref)...)
}

// check runs gatehouse check with the suite's configuration.
func (s *interopSuite) check(t *testing.T, args ...string) timedRun {
	t.Helper()
	_, wait := startGatehouse(t, nil, []string{"COSIGN_PASSWORD=" + interopPassword}, append([]string{"check", "--config", s.config}, args...)...)
	return wait()
}

// expect fails the cell unless the run exited with code and its stdout
// holds every want.
func (s *interopSuite) expect(t *testing.T, what string, r timedRun, code int, want ...string) {
	t.Helper()
	missing := ""
	for _, w := range want {
		if !strings.Contains(r.stdout, w) {
			missing = w
			break
		}
	}
	if r.code != code {
		s.m.fatalf(t, "%s: exit %d, want %d: %s\nstdout:\n%s\nstderr:\n%s", what, r.code, code, verdictLine(r.stdout), r.stdout, r.stderr)
	}
	if missing != "" {
		s.m.fatalf(t, "%s: exit %d but stdout lacks %q: %s\nstdout:\n%s\nstderr:\n%s", what, r.code, missing, verdictLine(r.stdout), r.stdout, r.stderr)
	}
	t.Logf("%s: exit %d: %s", what, r.code, verdictLine(r.stdout))
}

// verdictLine is the most telling line of check's text output: the
// suite's own "why: " line, else its first violation or undecided reason,
// else its first line.
func verdictLine(stdout string) string {
	for l := range strings.Lines(stdout) {
		if strings.HasPrefix(l, "why: ") || strings.Contains(l, "] ") || strings.Contains(l, "not decided:") {
			return strings.TrimSpace(l)
		}
	}
	first, _, _ := strings.Cut(stdout, "\n")
	return first
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestCosignInterop(t *testing.T) {
	c := needCosign(t)
	needDistribution(t)
	s := &interopSuite{m: &matrix{}, cosign: c, config: filepath.Join(c.dir, "gatehouse.yaml")}
	if err := os.WriteFile(s.config, []byte(interopConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	predicate, err := filepath.Abs(filepath.Join(repo, provenancePredicate))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { t.Log("cosign interop matrix (cosign " + c.bin + "):\n" + s.m.String()) }()

	for _, reg := range []*testRegistry{startDistribution(t), startGGCR(t)} {
		s.noSignature(t, reg)
		for _, f := range signatureFormats(c.trustedRoot) {
			s.signatureCells(t, reg, f)
		}
		for _, f := range attestationFormats(c.trustedRoot, predicate) {
			s.attestationCells(t, reg, f)
		}
		s.vsaCells(t, reg)
		s.modelCells(t, reg, predicate)
	}
	s.blobCells(t)
	for _, reg := range []*testRegistry{startDistribution(t), startGGCR(t)} {
		s.registryDownCells(t, reg)
	}
}

// noSignature: an unsigned image is denied as unsigned; an image whose tag
// was re-pushed after signing is denied (the signature stays with the old
// digest).
func (s *interopSuite) noSignature(t *testing.T, reg *testRegistry) {
	s.m.run(t, "none/"+reg.name+"/cosign-to-gatehouse/unsigned", func(t *testing.T) {
		d := pushImage(t, reg.host, "interop/unsigned", "v1")
		s.expect(t, "check of an unsigned image", s.check(t, "--gate", "signature", "image:"+d.String()), 1, "signature/unsigned", "has no signature")
	})
	s.m.run(t, "cosign-tag/"+reg.name+"/cosign-to-gatehouse/re-pushed-tag", func(t *testing.T) {
		f := signatureFormats(s.cosign.trustedRoot)[0]
		d := pushImage(t, reg.host, "interop/repushed", "v1")
		s.sign(t, f, s.cosign.key, d.String())
		tag := d.Context().Tag("v1").String()
		s.expect(t, "check of the signed tag", s.check(t, "--gate", "signature", "image:"+tag), 0, "allowed")
		pushImage(t, reg.host, "interop/repushed", "v1")
		s.expect(t, "check of the re-pushed tag", s.check(t, "--gate", "signature", "image:"+tag), 1, "signature/unsigned")
	})
}

// signatureCells: what cosign signs in format f, gatehouse's signature gate
// accepts; signed with another key, or a signature of another image
// attached to this one, it denies naming what it found.
func (s *interopSuite) signatureCells(t *testing.T, reg *testRegistry, f cosignFormat) {
	repository := "interop/sig-" + f.name
	prefix := f.name + "/" + reg.name + "/cosign-to-gatehouse/"
	s.m.run(t, prefix+"signed", func(t *testing.T) {
		d := pushImage(t, reg.host, repository, "signed")
		s.sign(t, f, s.cosign.key, d.String())
		if r := s.verify(t, f, s.cosign.pub, d.String()); r.code != 0 {
			s.m.fatalf(t, "cosign's own verify rejects what it signed (harness): %s", lastLine(r.stderr))
		}
		s.expect(t, "check", s.check(t, "--gate", "signature", "image:"+d.String()), 0, "allowed")
	})
	s.m.run(t, prefix+"wrong-key", func(t *testing.T) {
		d := pushImage(t, reg.host, repository, "wrong-key")
		s.sign(t, f, s.cosign.wrongKey, d.String())
		if r := s.verify(t, f, s.cosign.pub, d.String()); r.code == 0 {
			s.m.fatalf(t, "cosign verify accepts a signature by the wrong key (harness)")
		}
		s.expect(t, "check of an image signed by an untrusted key", s.check(t, "--gate", "signature", "image:"+d.String()), 1,
			"signature/no_valid_signature", "cosign.pub")
	})
	s.m.run(t, prefix+"tampered", func(t *testing.T) {
		signed := pushImage(t, reg.host, repository, "original")
		victim := pushImage(t, reg.host, repository, "victim")
		s.sign(t, f, s.cosign.key, signed.String())
		s.steal(t, f, signed, victim)
		if r := s.verify(t, f, s.cosign.pub, victim.String()); r.code == 0 {
			s.m.fatalf(t, "cosign verify accepts another image's signature (harness)")
		}
		s.expect(t, "check of an image carrying another image's signature", s.check(t, "--gate", "signature", "image:"+victim.String()), 1,
			"signature/no_valid_signature")
	})
}

// steal attaches what cosign attached to from to the image to, as a
// registry user could: the tag-scheme manifest copied, or the referrers
// re-pushed with to as their subject.
func (s *interopSuite) steal(t *testing.T, f cosignFormat, from, to name.Digest) {
	t.Helper()
	if f.tagSuffix != "" {
		copyTagScheme(t, from, to, f.tagSuffix)
		return
	}
	if n := retargetReferrers(t, from, to); n == 0 {
		s.m.fatalf(t, "%s: cosign attached no referrer to %s", f.name, from)
	}
}

// attestationCells: SLSA provenance cosign attests in format f passes the
// provenance gate; by another key or stolen from another image it does not.
func (s *interopSuite) attestationCells(t *testing.T, reg *testRegistry, f cosignFormat) {
	repository := "interop/" + f.name
	prefix := f.name + "/" + reg.name + "/cosign-to-gatehouse/"
	s.m.run(t, prefix+"provenance", func(t *testing.T) {
		d := pushImage(t, reg.host, repository, "attested")
		s.sign(t, f, s.cosign.key, d.String())
		if r := s.verify(t, f, s.cosign.pub, d.String()); r.code != 0 {
			s.m.fatalf(t, "cosign's own verify-attestation rejects what it attested (harness): %s", lastLine(r.stderr))
		}
		r := s.check(t, "--gate", "provenance", "image:"+d.String())
		if r.code != 0 {
			// The gate's message counts attestations but does not say
			// why each was refused: ask the library, for the matrix.
			r.stdout = s.provenanceErrors(t, d) + "\n" + r.stdout
		}
		s.expect(t, "check", r, 0, "allowed")
	})
	s.m.run(t, prefix+"wrong-key", func(t *testing.T) {
		d := pushImage(t, reg.host, repository, "wrong-key")
		s.sign(t, f, s.cosign.wrongKey, d.String())
		s.expect(t, "check of provenance attested by an untrusted key", s.check(t, "--gate", "provenance", "image:"+d.String()), 1,
			"provenance/no_provenance", "(1 attestation(s) found)")
	})
	s.m.run(t, prefix+"tampered", func(t *testing.T) {
		attested := pushImage(t, reg.host, repository, "original")
		victim := pushImage(t, reg.host, repository, "victim")
		s.sign(t, f, s.cosign.key, attested.String())
		s.steal(t, f, attested, victim)
		s.expect(t, "check of an image carrying another image's provenance", s.check(t, "--gate", "provenance", "image:"+victim.String()), 1,
			"provenance/no_provenance", "(1 attestation(s) found)")
	})
}

// provenanceErrors is why each attestation of d was refused, as the
// provenance collector sees it (a line verdictLine picks).
func (s *interopSuite) provenanceErrors(t *testing.T, d name.Digest) string {
	t.Helper()
	p, err := oci.PolicyFromParams(map[string]any{"keys": []any{s.cosign.pub}}, nil)
	if err != nil {
		return "why: policy: " + err.Error()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, err := oci.New(oci.Options{}).Provenance(ctx, d, p)
	if err != nil {
		return "why: provenance collector: " + err.Error()
	}
	var why []string
	for _, a := range ev.Attestations {
		if !a.Verified {
			why = append(why, a.Format+": "+a.Error)
		}
	}
	return "why: the provenance collector refused " + strings.Join(why, "; ")
}

// vsaCells: the VSA of a full `check --attest --key` run is accepted by
// `cosign verify-attestation --type https://slsa.dev/verification_summary/v1`
// (one command for every image: --trusted-root lets cosign read bundles
// offline), whatever signatures the image carries.
func (s *interopSuite) vsaCells(t *testing.T, reg *testRegistry) {
	fs := signatureFormats(s.cosign.trustedRoot)
	tag, bundle := fs[0], fs[1]
	for _, tt := range []struct {
		name    string
		signers []cosignFormat
	}{
		{"image-with-cosign-tag-signature", []cosignFormat{tag}},
		{"image-with-bundle-signature", []cosignFormat{bundle}},
		{"image-with-bundle-and-tag-signatures", []cosignFormat{tag, bundle}},
	} {
		s.m.run(t, "vsa/"+reg.name+"/gatehouse-to-cosign/"+tt.name, func(t *testing.T) {
			d := pushImage(t, reg.host, "interop/vsa", tt.name)
			for _, f := range tt.signers {
				s.sign(t, f, s.cosign.key, d.String())
			}
			r := s.check(t, "--env", "signed", "--attest", "--key", s.cosign.key, "image:"+d.String())
			s.expect(t, "check --attest", r, 0, "allowed in signed")
			if !strings.Contains(r.stderr, "verification summary for") {
				s.m.fatalf(t, "check --attest wrote no VSA:\n%s", r.stderr)
			}
			verify := func(pub string) runResult {
				return s.cosign.run(t, nil, "verify-attestation", "--key", pub, "--insecure-ignore-tlog=true", "--trusted-root", s.cosign.trustedRoot,
					"--type", vsaType, d.String())
			}
			v := verify(s.cosign.pub)
			if v.code != 0 {
				s.m.fatalf(t, "cosign verify-attestation --type %s rejects gatehouse's VSA (VSA at %s): %s", vsaType, lastLine(r.stderr), lastLine(v.stderr))
			}
			if err := statementsName(v.stdout, vsaType, d.DigestStr()); err != nil {
				s.m.fatalf(t, "cosign verify-attestation: %v\n%s", err, v.stdout)
			}
			if w := verify(s.cosign.wrongPub); w.code == 0 {
				s.m.fatalf(t, "cosign verify-attestation accepts the VSA under the wrong key (harness)")
			}
		})
	}
}

// statementsName checks that cosign printed an envelope whose in-toto
// statement has predicateType pt and subject digest dg.
func statementsName(stdout, pt, dg string) error {
	_, hexDigest, _ := strings.Cut(dg, ":")
	n := 0
	for l := range strings.Lines(stdout) {
		var env struct {
			Payload string `json:"payload"`
		}
		if json.Unmarshal([]byte(l), &env) != nil || env.Payload == "" {
			continue
		}
		n++
		b, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			return fmt.Errorf("payload is not base64: %w", err)
		}
		var st struct {
			PredicateType string `json:"predicateType"`
			Subject       []struct {
				Digest map[string]string `json:"digest"`
			} `json:"subject"`
		}
		if err := json.Unmarshal(b, &st); err != nil {
			return fmt.Errorf("payload is not an in-toto statement: %w", err)
		}
		if st.PredicateType == pt && len(st.Subject) > 0 && st.Subject[0].Digest["sha256"] == hexDigest {
			return nil
		}
	}
	return fmt.Errorf("none of %d verified statement(s) is a %s about %s", n, pt, dg)
}

// blobCells: files and folders both ways: gatehouse sign → cosign
// verify-blob / verify-blob-attestation, cosign sign-blob → gatehouse
// verify; a changed file is refused by the verifier each time.
func (s *interopSuite) blobCells(t *testing.T) {
	c := s.cosign
	s.m.run(t, "file/local/gatehouse-to-cosign/verify-blob", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "model.safetensors")
		writeRandom(t, file, 4096)
		if r := gatehouse(t, []string{"COSIGN_PASSWORD=" + interopPassword}, "sign", "--key", c.key, file); r.code != 0 {
			s.m.fatalf(t, "gatehouse sign: exit %d: %s", r.code, r.stderr)
		}
		verify := func() runResult {
			return c.run(t, nil, "verify-blob", "--key", c.pub, "--bundle", file+".sigstore.json", "--new-bundle-format",
				"--insecure-ignore-tlog=true", "--trusted-root", c.trustedRoot, file)
		}
		if r := verify(); r.code != 0 {
			s.m.fatalf(t, "cosign verify-blob rejects gatehouse's bundle: %s", lastLine(r.stderr))
		}
		writeRandom(t, file, 4096)
		if r := verify(); r.code == 0 {
			s.m.fatalf(t, "cosign verify-blob accepts a changed file (harness)")
		}
	})
	s.m.run(t, "folder/local/gatehouse-to-cosign/verify-blob-attestation", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "model")
		files := []string{filepath.Join(dir, "config.json"), filepath.Join(dir, "weights", "part-1.bin")}
		for _, f := range files {
			writeRandom(t, f, 2048)
		}
		if r := gatehouse(t, []string{"COSIGN_PASSWORD=" + interopPassword}, "sign", "--key", c.key, dir); r.code != 0 {
			s.m.fatalf(t, "gatehouse sign: exit %d: %s", r.code, r.stderr)
		}
		verify := func(f string) runResult {
			return c.run(t, nil, "verify-blob-attestation", "--key", c.pub, "--bundle", filepath.Join(dir, ".gatehouse.sigstore.json"), "--new-bundle-format",
				"--insecure-ignore-tlog=true", "--trusted-root", c.trustedRoot, "--type", "https://gatehouse.dev/attestations/folder-manifest/v1", f)
		}
		for _, f := range files {
			if r := verify(f); r.code != 0 {
				s.m.fatalf(t, "cosign verify-blob-attestation rejects %s of gatehouse's folder bundle: %s", f, lastLine(r.stderr))
			}
		}
		writeRandom(t, files[1], 2048)
		if r := verify(files[1]); r.code == 0 {
			s.m.fatalf(t, "cosign verify-blob-attestation accepts a changed file of the folder (harness)")
		}
	})
	s.m.run(t, "file/local/cosign-to-gatehouse/sign-blob", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "model.safetensors")
		writeRandom(t, file, 4096)
		if r := c.run(t, nil, "sign-blob", "--key", c.key, "--new-bundle-format", "--tlog-upload=false", "--bundle", file+".sigstore.json", "--yes", file); r.code != 0 {
			s.m.fatalf(t, "cosign sign-blob: exit %d: %s", r.code, lastLine(r.stderr))
		}
		if r := gatehouse(t, nil, "verify", "--key", c.pub, file); r.code != 0 {
			s.m.fatalf(t, "gatehouse verify of cosign's bundle: exit %d: %s", r.code, r.stderr)
		}
		if r := gatehouse(t, nil, "verify", "--key", c.wrongPub, file); r.code != 1 {
			s.m.fatalf(t, "gatehouse verify with the wrong key: exit %d, want 1: %s", r.code, r.stderr)
		}
		writeRandom(t, file, 4096)
		if r := gatehouse(t, nil, "verify", "--key", c.pub, file); r.code != 1 {
			s.m.fatalf(t, "gatehouse verify of a changed file: exit %d, want 1: %s", r.code, r.stderr)
		}
	})
}

// registryDownCells: with the image's registry stopped, the signature gate
// cannot decide: exit 2, for a digest reference and for a tag.
func (s *interopSuite) registryDownCells(t *testing.T, reg *testRegistry) {
	d := pushImage(t, reg.host, "interop/down", "v1")
	s.sign(t, signatureFormats(s.cosign.trustedRoot)[0], s.cosign.key, d.String())
	reg.stop()
	for _, tt := range []struct{ name, ref string }{
		{"digest-ref", d.String()},
		{"tag-ref", d.Context().Tag("v1").String()},
	} {
		s.m.run(t, "cosign-tag/"+reg.name+"/registry-down/"+tt.name, func(t *testing.T) {
			r := s.check(t, "--gate", "signature", "image:"+tt.ref)
			if r.code != 2 || !strings.Contains(r.stderr, "not decided") {
				s.m.fatalf(t, "check with the registry stopped: exit %d, want 2 (not decided): %s\nstdout:\n%s\nstderr:\n%s", r.code, verdictLine(r.stdout), r.stdout, r.stderr)
			}
		})
	}
}

func writeRandom(t *testing.T, path string, n int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, n)
	rand.Read(b)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkCosignVerifyImage: verify latency (oci.Client.VerifyImage, the
// admission path, blob cache off: every call reads every manifest and blob)
// of an image cosign signed in its tag scheme and one it signed as a
// bundle, per loopback registry. Each iteration verifies both, alternately
// (so load from elsewhere on the machine hits both alike), and the
// benchmark reports each one's median and bundle/tag, the ratio of the
// medians (target: at most 1.20).
func BenchmarkCosignVerifyImage(b *testing.B) {
	c := needCosign(b)
	needDistribution(b)
	pub, err := os.ReadFile(c.pub)
	if err != nil {
		b.Fatal(err)
	}
	p, err := oci.PolicyFromParams(map[string]any{"keys": []any{string(pub)}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	formats := signatureFormats(c.trustedRoot)[:2] // cosign-tag, bundle
	for _, reg := range []*testRegistry{startDistribution(b), startGGCR(b)} {
		var images []name.Digest
		for _, f := range formats {
			d := pushImage(b, reg.host, "bench/"+f.name, "v1")
			if r := c.run(b, f.env, append(append(slices.Clone(f.sign), "--key", c.key), d.String())...); r.code != 0 {
				b.Fatalf("cosign %s: %s", f.name, r.stderr)
			}
			images = append(images, d)
		}
		b.Run(reg.name, func(b *testing.B) {
			rt := &countingTransport{base: remote.DefaultTransport}
			client := oci.New(oci.Options{Timeout: 10 * time.Second, BlobCacheBytes: -1, Transport: rt})
			took := make([][]time.Duration, len(formats))
			requests := make([]int64, len(formats))
			for b.Loop() {
				for i, d := range images {
					n := rt.n.Load()
					start := time.Now()
					res, err := client.VerifyImage(context.Background(), d.String(), oci.ImagePolicy{Signatures: p})
					took[i] = append(took[i], time.Since(start))
					requests[i] += rt.n.Load() - n
					if err != nil || !res.Signatures.Verified {
						b.Fatalf("VerifyImage of the %s-signed %s: %v", formats[i].name, d, err)
					}
				}
			}
			medians := make([]time.Duration, len(formats))
			for i, f := range formats {
				slices.Sort(took[i])
				medians[i] = took[i][len(took[i])/2]
				b.ReportMetric(float64(medians[i].Microseconds())/1000, f.name+"-median-ms")
				b.ReportMetric(float64(requests[i])/float64(len(took[i])), f.name+"-requests")
			}
			b.ReportMetric(float64(medians[1])/float64(medians[0]), "bundle/tag")
		})
	}
}

// countingTransport counts HTTP requests (what a verification costs in
// round trips).
type countingTransport struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}
