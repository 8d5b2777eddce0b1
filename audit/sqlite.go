package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, no cgo
)

// sqliteDialect: every write transaction is BEGIN IMMEDIATE (the DSN's
// _txlock), so it holds the database's write lock from its first
// statement and the head it reads is the head it advances, across
// processes too.
var sqliteDialect = dialect{
	name:     "sqlite",
	ph:       func(int) string { return "?" },
	lockHead: `SELECT size, head FROM audit_head WHERE id = 1`,
}

// openSQLite opens the log in the SQLite file at path, creating it (mode
// 0600). WAL with synchronous=FULL: a committed append survives a crash
// of the process or the machine.
func openSQLite(ctx context.Context, path string) (Store, error) {
	if path == "" {
		return nil, errors.New("audit store sqlite: empty path")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("audit store sqlite:%s: a path with '?' or '#' is not supported", path)
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("audit store sqlite:%s: %w", path, err)
		}
		if f != nil {
			f.Close()
		}
	case err != nil:
		return nil, fmt.Errorf("audit store sqlite:%s: %w", path, err)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("audit store sqlite:%s: not a regular file", path)
	}
	dsn := "file:" + path + "?_txlock=immediate" +
		"&_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("audit store sqlite:%s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("audit store sqlite:%s: %w", path, err)
	}
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		db.Close()
		return nil, fmt.Errorf("audit store sqlite:%s: journal mode %q, want wal (%v)", path, mode, err)
	}
	return newSQLStore(ctx, db, sqliteDialect, "sqlite:"+path)
}
