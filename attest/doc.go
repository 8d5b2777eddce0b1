// Package attest is gatehouse's signing core: keys, DSSE envelopes, in-toto
// statements, SLSA provenance and the SLSA Verification Summary Attestation
// (VSA) that records a passed decision.
//
// The API, from the bottom up:
//
//   - Keys: LoadSigner reads a private key (cosign's encrypted key files,
//     password from COSIGN_PASSWORD, or plain PEM PKCS#8/SEC 1/PKCS#1 keys:
//     ECDSA, Ed25519, RSA); LoadVerifier and ParseVerifier read PEM public
//     keys (PKIX). Fingerprint names a public key without revealing it.
//   - DSSE: ParseEnvelope (strict, bounded by Limits), PAE, SignEnvelope and
//     VerifyEnvelope (a signature by any one of the given verifiers; keyid
//     is a hint, never trusted).
//   - Statements: ParseStatement reads an in-toto statement (v0.1 or v1),
//     Statement.MatchDigest matches its subjects against an artifact digest.
//   - Provenance: ParseProvenance maps SLSA provenance v0.2 and v1 to one
//     Provenance value (builder, build type, source repository/ref/digest,
//     external parameters, materials); other predicates stay raw JSON.
//   - VSA: NewVSA builds and SignVSA signs the in-toto statement of a
//     verification summary, with the "gatehouse" predicate extension
//     (VSAGatehouse: environment, gates run, required gates, configuration
//     digest) that says exactly what was judged; a passed partial run is
//     refused (ErrPartial). VerifyVSA checks one against a VSAPolicy and
//     fails with a sentinel error (ErrSignature, ErrDigestMismatch,
//     ErrNotPassed, ErrPolicyDigest, ErrVerifierID, ErrTooOld, ErrGates,
//     ErrConfigDigest, ErrEnvironment, ...) that callers can test with
//     errors.Is.
//
// Every parser here reads outside input: each has a size, depth and count
// limit and returns an error wrapping ErrMalformed that names the field at
// fault. Nothing here logs key material or passwords.
package attest
