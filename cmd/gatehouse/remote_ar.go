package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/gatehouse-dev/gatehouse/attest/gcp"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
	"github.com/gatehouse-dev/gatehouse/sources/scan"
)

// Artifact Registry metadata for remote models: for an oci:// model in
// LOCATION-docker.pkg.dev, the model_scan evidence's source records the
// Artifact Registry version of the pinned digest (tags, create and update
// time, annotations), or why it could not be looked up. It is metadata:
// the verdict does not depend on it, and a failed lookup changes nothing
// but the evidence.

// arEndpointEnv points the Artifact Registry client at another endpoint
// (host:port), for tests and emulators. A loopback endpoint is spoken to
// without TLS and without credentials; any other over TLS with the usual
// credentials.
const arEndpointEnv = "GATEHOUSE_ARTIFACT_REGISTRY_ENDPOINT"

// arTimeout bounds one lookup (credentials discovery and the listing).
const arTimeout = 15 * time.Second

// arPackageOf maps a pinned oci:// reference to its Artifact Registry
// package and digest. ok is false for a registry that is not Artifact
// Registry; err says why a *-docker.pkg.dev reference names no package.
// Tests replace it to map a loopback registry (no DNS is faked).
var arPackageOf = func(pinned string) (pkg gcp.Package, digest string, ok bool, err error) {
	ref := strings.TrimPrefix(pinned, "oci://")
	host, _, _ := strings.Cut(ref, "/")
	if !strings.HasSuffix(host, "-docker.pkg.dev") {
		return gcp.Package{}, "", false, nil
	}
	pkg, _, digest, err = gcp.ParseImage(ref)
	if err == nil && digest == "" {
		err = fmt.Errorf("%s names no digest", textsafe.Escape(ref))
	}
	return pkg, digest, true, err
}

// newARRegistry connects to Artifact Registry (or arEndpointEnv's endpoint).
func newARRegistry(ctx context.Context) (*gcp.APIRegistry, error) {
	var opts []option.ClientOption
	if ep := os.Getenv(arEndpointEnv); ep != "" {
		host, _, err := net.SplitHostPort(ep)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: want host:port: %v", arEndpointEnv, textsafe.Escape(ep), err)
		}
		opts = append(opts, option.WithEndpoint(ep))
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			opts = append(opts, option.WithoutAuthentication(),
				option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
		}
	}
	return gcp.NewAPIRegistry(ctx, opts...)
}

// addArtifactRegistry records in rep's source the Artifact Registry version
// of the pinned digest, or the reason it could not, for an oci:// tree in
// Artifact Registry; otherwise it does nothing.
func addArtifactRegistry(ctx context.Context, rep *scan.ModelReport) {
	if rep == nil || rep.Source.Kind != "oci" || rep.Source.Pinned == "" {
		return
	}
	pkg, digest, ok, err := arPackageOf(rep.Source.Pinned)
	if !ok {
		return
	}
	if err == nil {
		var v *scan.ArtifactRegistry
		v, err = lookupARVersion(ctx, pkg, digest)
		rep.Source.ArtifactRegistry = v
	}
	if err != nil {
		rep.Source.ArtifactRegistryError = textsafe.Escape(err.Error())
	}
}

func lookupARVersion(ctx context.Context, pkg gcp.Package, digest string) (*scan.ArtifactRegistry, error) {
	ctx, cancel := context.WithTimeout(ctx, arTimeout)
	defer cancel()
	reg, err := newARRegistry(ctx)
	if err != nil {
		return nil, err
	}
	defer reg.Close()
	v, err := (&gcp.Client{Registry: reg}).Version(ctx, pkg, digest)
	if errors.Is(err, gcp.ErrNotFound) {
		return nil, fmt.Errorf("%s has no version %s: %w", pkg, digest, err)
	}
	if err != nil {
		return nil, err
	}
	tags := slices.Clone(v.Tags)
	if tags == nil {
		tags = []string{}
	}
	slices.Sort(tags)
	return &scan.ArtifactRegistry{Package: pkg.String(), Version: v.Name, Tags: tags,
		CreateTime: v.CreateTime, UpdateTime: v.UpdateTime, Annotations: v.Annotations}, nil
}
