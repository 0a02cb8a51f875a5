// Package models holds the GORM models, their store functions, the domain errors and the
// schema migrations. It imports no other package of this module.
package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// DB is the process's database: one pgx pool shared by GORM (through database/sql) and River.
type DB struct {
	Pool *pgxpool.Pool
	SQL  *sql.DB
	Gorm *gorm.DB
}

// Open connects to url and returns the shared pool with GORM on top of it.
func Open(ctx context.Context, url string, maxConns int32) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db, err := FromPool(pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// FromPool wraps an existing pool.
func FromPool(pool *pgxpool.Pool) (*DB, error) {
	sqlDB := stdlib.OpenDBFromPool(pool)
	gdb, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		TranslateError:         false,
	})
	if err != nil {
		return nil, fmt.Errorf("open gorm: %w", err)
	}
	return &DB{Pool: pool, SQL: sqlDB, Gorm: gdb}, nil
}

// Close closes GORM's handle and the pool.
func (db *DB) Close() {
	_ = db.SQL.Close()
	db.Pool.Close()
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return db.Pool.Ping(ctx)
}

// Tx is one database transaction seen two ways: through GORM for the store functions and as
// a pgx.Tx for River's InsertTx. Both run on the same connection, so a job enqueued with
// Conn commits or rolls back with the rows written through DB.
type Tx struct {
	DB   *gorm.DB
	Conn pgx.Tx
}

// InTx runs fn in one transaction pinned to one connection, committing if fn returns nil
// and rolling back otherwise.
func (db *DB) InTx(ctx context.Context, fn func(tx Tx) error) (err error) {
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Close()
	var pgxConn *pgx.Conn
	if err := conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		pgxConn = sc.Conn()
		return nil
	}); err != nil {
		return err
	}
	ptx, err := pgxConn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = ptx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
		if err != nil {
			if rbErr := ptx.Rollback(context.WithoutCancel(ctx)); rbErr != nil && !errors.Is(rbErr, pgx.ErrTxClosed) {
				slog.WarnContext(ctx, "rollback failed", "err", rbErr)
			}
		}
	}()
	gtx := db.Gorm.Session(&gorm.Session{NewDB: true, Context: ctx})
	gtx.Statement.ConnPool = &pinnedConn{Conn: conn}
	if err = fn(Tx{DB: gtx, Conn: ptx}); err != nil {
		return err
	}
	if err = ptx.Commit(ctx); err != nil {
		return translate(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// pinnedConn lets GORM run statements on the connection that holds the pgx transaction.
// Its Commit and Rollback are never called by GORM for an outer transaction we own; their
// presence makes GORM use savepoints for nested Transaction calls instead of BEGIN.
type pinnedConn struct {
	*sql.Conn
}

func (p *pinnedConn) Commit() error   { return nil }
func (p *pinnedConn) Rollback() error { return nil }
