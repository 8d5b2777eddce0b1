// Package keychain is the registry credential chain gatehouse uses
// everywhere it talks to an OCI registry: Docker's config and credential
// helpers, then Google's (application default credentials, the GKE
// metadata server, gcloud) for *.pkg.dev and gcr.io.
package keychain

import (
	"context"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/google"
)

// Default is Docker's keychain, then Google's.
func Default() authn.Keychain {
	return authn.NewMultiKeychain(authn.DefaultKeychain, detached{google.Keychain})
}

// detached resolves k under a context that is never cancelled, while the
// caller waits no longer than its own context: google.Keychain resolves
// once per process and keeps that first context for every later token
// refresh, so a caller's context, cancelled when its step ends, would make
// each refresh of a gcloud, authorized_user or external_account token fail
// with "context canceled".
type detached struct{ k authn.Keychain }

func (d detached) Resolve(r authn.Resource) (authn.Authenticator, error) {
	return d.ResolveContext(context.Background(), r)
}

func (d detached) ResolveContext(ctx context.Context, r authn.Resource) (authn.Authenticator, error) {
	type result struct {
		a   authn.Authenticator
		err error
	}
	ch := make(chan result, 1)
	go func() {
		a, err := authn.Resolve(context.WithoutCancel(ctx), d.k, r)
		ch <- result{a, err}
	}()
	select {
	case res := <-ch:
		return res.a, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
