package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/gatehouse-dev/gatehouse/attest/blob"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
)

// `gatehouse sign` and `gatehouse verify`: files and folders (models,
// datasets) signed as Sigstore bundles by attest/blob.
func init() {
	rootCmd.AddCommand(newSignCmd(), newVerifyCmd())
}

type signFlags struct {
	key    string
	bundle string
}

func newSignCmd() *cobra.Command {
	var f signFlags
	c := &cobra.Command{
		Use:   "sign --key KEY PATH",
		Short: "Sign a file or folder into a Sigstore bundle (PATH.sigstore.json, or PATH/.gatehouse.sigstore.json for a folder)",
		Long: `Sign a model or dataset file, or a whole folder, with a key.

A file is signed as cosign sign-blob --new-bundle-format does (cosign
verify-blob accepts the bundle); a folder is signed as a manifest of its
files' SHA-256 digests (an in-toto statement in a DSSE envelope). KEY is a
cosign key file (password in COSIGN_PASSWORD) or an unencrypted PEM private
key (PKCS#8, ECDSA P-256, Ed25519 or RSA).

Exit codes: 0 signed, 2 could not sign (the reason is printed).`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if f.key == "" {
				return undecided(errors.New("--key is required (a cosign key or a PEM private key)"))
			}
			s, err := attest.LoadSigner(f.key)
			if err != nil {
				return undecided(fmt.Errorf("--key: %w", err))
			}
			out, err := blob.Sign(c.Context(), args[0], blob.SignOptions{Signer: s, BundlePath: f.bundle})
			if err != nil {
				return undecided(err)
			}
			fmt.Fprintf(c.OutOrStdout(), "signed %s: bundle written to %s\n", args[0], out)
			return nil
		},
	}
	c.Flags().StringVar(&f.key, "key", "", "private key file: cosign key (COSIGN_PASSWORD) or PEM PKCS#8")
	c.Flags().StringVar(&f.bundle, "bundle", "", "where to write the bundle (default PATH.sigstore.json, or PATH/.gatehouse.sigstore.json for a folder)")
	return c
}

type verifyFlags struct {
	keys           []string
	bundle         string
	identity       string
	identityRegexp string
	issuer         string
	issuerRegexp   string
	trustedRoot    string
	ignoreSCT      bool
	format         string
}

// options turns the flags into blob.VerifyOptions, reading keys and the
// trusted root.
func (f *verifyFlags) options() (blob.VerifyOptions, error) {
	o := blob.VerifyOptions{BundlePath: f.bundle, IgnoreSCT: f.ignoreSCT}
	if f.format != "text" && f.format != "json" {
		return o, fmt.Errorf("--format %q: want text or json", f.format)
	}
	for _, k := range f.keys {
		v, err := attest.LoadVerifier(k)
		if err != nil {
			return o, fmt.Errorf("--key: %w", err)
		}
		o.Keys = append(o.Keys, v)
	}
	keyless := f.identity != "" || f.identityRegexp != "" || f.issuer != "" || f.issuerRegexp != ""
	if keyless {
		if (f.identity == "") == (f.identityRegexp == "") {
			return o, errors.New("keyless verification needs exactly one of --certificate-identity or --certificate-identity-regexp")
		}
		if (f.issuer == "") == (f.issuerRegexp == "") {
			return o, errors.New("keyless verification needs exactly one of --certificate-oidc-issuer or --certificate-oidc-issuer-regexp")
		}
		if f.trustedRoot == "" {
			return o, errors.New("keyless verification needs --trusted-root FILE (a Sigstore trusted_root.json; gatehouse verifies offline)")
		}
		tr, err := blob.LoadTrustedRoot(f.trustedRoot)
		if err != nil {
			return o, fmt.Errorf("--trusted-root: %w", err)
		}
		o.TrustedRoot = tr
		o.Identities = []blob.Identity{{Subject: f.identity, SubjectRegexp: f.identityRegexp, Issuer: f.issuer, IssuerRegexp: f.issuerRegexp}}
	}
	if len(o.Keys) == 0 && !keyless {
		return o, errors.New("give --key PUBLIC_KEY, or --certificate-identity, --certificate-oidc-issuer and --trusted-root")
	}
	return o, nil
}

func newVerifyCmd() *cobra.Command {
	f := verifyFlags{}
	c := &cobra.Command{
		Use:   "verify (--key PUB | --certificate-identity ID --certificate-oidc-issuer URL --trusted-root FILE) PATH",
		Short: "Verify the Sigstore bundle of a file or folder",
		Long: `Verify that a file or folder is exactly what was signed, by whom it must be.

With --key, the bundle must be signed by one of the public keys (PEM). With
--certificate-identity/--certificate-oidc-issuer, it must be signed keylessly
by that identity, with a certificate from a Fulcio CA of --trusted-root and an
entry in one of its transparency logs (checked offline).

Exit codes: 0 verified, 1 not verified (tampered content, wrong key or
identity, bad signature: the reason is printed), 2 could not verify
(missing bundle, unreadable key or trusted root).`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o, err := f.options()
			if err != nil {
				return undecided(err)
			}
			res, err := blob.Verify(c.Context(), args[0], o)
			if errors.Is(err, blob.ErrNotVerified) {
				fmt.Fprintf(c.ErrOrStderr(), "gatehouse: verify %s: %v\n", args[0], err)
				return denied()
			}
			if err != nil {
				return undecided(err)
			}
			return printVerified(c.OutOrStdout(), f.format, res, f.keys)
		},
	}
	fl := c.Flags()
	fl.StringSliceVar(&f.keys, "key", nil, "public key (PEM) that may have signed; repeat for several")
	fl.StringVar(&f.bundle, "bundle", "", "bundle to verify (default PATH.sigstore.json, or PATH/.gatehouse.sigstore.json for a folder)")
	fl.StringVar(&f.identity, "certificate-identity", "", "keyless: the signer's identity (certificate SAN), exactly")
	fl.StringVar(&f.identityRegexp, "certificate-identity-regexp", "", "keyless: the signer's identity as a regular expression")
	fl.StringVar(&f.issuer, "certificate-oidc-issuer", "", "keyless: the OIDC issuer of the signer's identity, exactly")
	fl.StringVar(&f.issuerRegexp, "certificate-oidc-issuer-regexp", "", "keyless: the OIDC issuer as a regular expression")
	fl.StringVar(&f.trustedRoot, "trusted-root", "", "keyless: Sigstore trusted_root.json (Fulcio CAs, Rekor and CT log keys)")
	fl.BoolVar(&f.ignoreSCT, "insecure-ignore-sct", false, "keyless: do not require a certificate transparency SCT (private Fulcio without CT)")
	fl.StringVar(&f.format, "format", "text", "output format: text or json")
	return c
}

// printVerified names the key that verified by the file it was given as,
// in text and JSON alike (keyless bundles name the identity instead).
func printVerified(w io.Writer, format string, res *blob.Result, keys []string) error {
	key := ""
	if res.Identity == "" && res.Key >= 0 && res.Key < len(keys) {
		key = keys[res.Key]
	}
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			*blob.Result
			Key string `json:"key,omitempty"` // shadows the index: the file path
		}{res, key})
	}
	by := textsafe.Escape(key)
	if res.Identity != "" {
		by = fmt.Sprintf("%s (issuer %s)", textsafe.Escape(res.Identity), textsafe.Escape(res.Issuer))
	}
	fmt.Fprintf(w, "verified %s %s (%s, %d file(s)) with %s, signed by %s\n", res.Kind, textsafe.Escape(res.Path), res.Digest, res.Files, textsafe.Escape(res.Bundle), by)
	return nil
}
