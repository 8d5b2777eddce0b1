package digest

import "syscall"

const mapPopulate = syscall.MAP_POPULATE
