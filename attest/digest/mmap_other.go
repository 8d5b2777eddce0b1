//go:build !(linux || darwin || freebsd)

package digest

import (
	"hash"
	"os"
)

func hashRange(hash.Hash, *os.File, int64, int64) (bool, error) { return false, nil }
