package audit

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// migrateLockKey names gatehouse's migration advisory lock ("gh-audit").
const migrateLockKey = 0x67682d6175646974

// postgresDialect: the head row locked FOR UPDATE serializes appends from
// every replica; each holds it only for its own batch's transaction.
var postgresDialect = dialect{
	name:        "postgres",
	ph:          func(n int) string { return "$" + strconv.Itoa(n) },
	lockHead:    `SELECT size, head FROM audit_head WHERE id = 1 FOR UPDATE`,
	migrateLock: `SELECT pg_advisory_xact_lock(` + strconv.FormatInt(migrateLockKey, 10) + `)`,
}

func openPostgres(ctx context.Context, dsn string) (Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("audit store %s: %w", redactDSN(dsn), err)
	}
	db.SetMaxOpenConns(8)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("audit store %s: %w", redactDSN(dsn), err)
	}
	return newSQLStore(ctx, db, postgresDialect, dsn)
}
