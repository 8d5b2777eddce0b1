package oci

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

// jsonUnmarshalLimited decodes JSON that came from outside, refusing
// documents larger than MaxPayloadBytes.
func jsonUnmarshalLimited(data []byte, v any) error {
	if len(data) > MaxPayloadBytes {
		return fmt.Errorf("document is %d bytes, more than the %d byte limit", len(data), MaxPayloadBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON document")
	}
	return nil
}

// readLimited reads at most MaxPayloadBytes from r.
func readLimited(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxPayloadBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxPayloadBytes {
		return nil, fmt.Errorf("more than the %d byte limit", MaxPayloadBytes)
	}
	return b, nil
}
