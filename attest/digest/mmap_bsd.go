//go:build darwin || freebsd

package digest

const mapPopulate = 0
