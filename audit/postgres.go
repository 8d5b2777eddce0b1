package audit

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" database/sql driver
)

// migrateLockKey names gatehouse's migration advisory lock ("gh-audit").
const migrateLockKey = 0x67682d6175646974

// postgresDialect: the head row locked FOR UPDATE serializes appends from
// every replica; each holds it only for its own batch's transaction.
var postgresDialect = dialect{
	name:        "postgres",
	ph:          pgPlaceholder,
	lockHead:    pgLockHead,
	migrateLock: `SELECT pg_advisory_xact_lock(` + strconv.FormatInt(migrateLockKey, 10) + `)`,
	writeBatch:  pgWriteBatch,
}

func pgPlaceholder(n int) string { return "$" + strconv.Itoa(n) }

const pgLockHead = `SELECT size, head FROM audit_head WHERE id = 1 FOR UPDATE`

// pgWriteBatch appends a batch in two round trips: BEGIN and the locking
// read pipelined, then the inserts, the head update and COMMIT pipelined.
// The head row stays locked for as short a time as the protocol allows:
// with several replicas appending, that time bounds the appends per second.
func pgWriteBatch(ctx context.Context, db *sql.DB, ps []prepared) error {
	c, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("audit append: %w", err)
	}
	defer c.Close()
	return c.Raw(func(dc any) error {
		conn := dc.(*stdlib.Conn).Conn()
		committed := false
		defer func() {
			if !committed && !conn.IsClosed() {
				// Leave no transaction open on a pooled connection.
				conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
			}
		}()
		var b pgx.Batch
		b.Queue("BEGIN")
		var size int64
		var head string
		b.Queue(pgLockHead).QueryRow(func(r pgx.Row) error { return r.Scan(&size, &head) })
		if err := conn.SendBatch(ctx, &b).Close(); err != nil {
			return fmt.Errorf("audit append: read head: %w", err)
		}
		b = pgx.Batch{}
		for _, st := range batchStatements(ps, size, head, pgPlaceholder) {
			b.Queue(st.sql, st.args...)
		}
		b.Queue("COMMIT")
		if err := conn.SendBatch(ctx, &b).Close(); err != nil {
			return fmt.Errorf("audit append: %w", err)
		}
		committed = true
		return nil
	})
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
