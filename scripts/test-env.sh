# Sourced by `make test-go`: environment for the test run.
# docker-registry from Debian lives in /usr/bin; tests find it on PATH.
export PATH="$PATH:/usr/bin:/usr/sbin"
