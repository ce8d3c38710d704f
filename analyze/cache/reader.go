package cache

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"

	"github.com/vigil-metrics/vigil/internal/store"
	"github.com/vigil-metrics/vigil/queries"
)

// Reading rows through database/sql costs two SQLite calls a column, each
// taking the connection mutex (modernc opens connections FULLMUTEX): most
// of a cold sync went there. An aggregate function sees every row's values
// directly, so the read runs as one statement per id range that hands
// rows to a Go sink (queries/store_copy_rows.sql, which names the function
// literally: keep it equal to copyFunc):
//
//	SELECT vigil_copy_rows(?token, series_id, ts, value) FROM samples WHERE ...
const copyFunc = "vigil_copy_rows"

func init() {
	sqlite.MustRegisterFunction(copyFunc, &sqlite.FunctionImpl{
		NArgs:         4,
		MakeAggregate: func(sqlite.FunctionContext) (sqlite.AggregateFunction, error) { return &copyAgg{}, nil },
	})
}

// sink receives the rows of one reader; registered under a token that the
// query binds as the function's first argument.
type sink struct {
	ctx  context.Context
	out  chan<- *rowBatch
	pool *sync.Pool
	b    *rowBatch
	n    int64
}

var (
	sinks     sync.Map // int64 token -> *sink
	nextToken atomic.Int64
)

type copyAgg struct{ s *sink }

var errBadRow = errors.New("unexpected column type in samples")

func (a *copyAgg) Step(_ *sqlite.FunctionContext, args []driver.Value) error {
	if a.s == nil {
		tok, _ := args[0].(int64)
		v, ok := sinks.Load(tok)
		if !ok {
			return errors.New("no sink for token")
		}
		a.s = v.(*sink)
	}
	s := a.s
	sid, ok1 := args[1].(int64)
	ts, ok2 := args[2].(int64)
	var val float64
	switch v := args[3].(type) {
	case float64:
		val = v
	case int64: // SQLite stores integral REALs compactly; they read back as integers
		val = float64(v)
	default:
		return errBadRow
	}
	if !ok1 || !ok2 {
		return errBadRow
	}
	b := s.b
	b.sid, b.ts, b.v = append(b.sid, sid), append(b.ts, ts), append(b.v, val)
	s.n++
	if len(b.sid) == batchRows {
		return s.flush()
	}
	return nil
}

func (s *sink) flush() error {
	if len(s.b.sid) == 0 {
		return nil
	}
	select {
	case s.out <- s.b:
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
	s.b = s.pool.Get().(*rowBatch)
	return nil
}

func (a *copyAgg) WindowInverse(*sqlite.FunctionContext, []driver.Value) error {
	return errors.New(copyFunc + " is not a window function")
}

func (a *copyAgg) WindowValue(*sqlite.FunctionContext) (driver.Value, error) {
	if a.s == nil {
		return int64(0), nil
	}
	return a.s.n, nil
}

func (a *copyAgg) Final(*sqlite.FunctionContext) {}

// readRanges reads id ranges from work on its own connection and sends
// batches of rows to out.
func readRanges(ctx context.Context, src *store.Store, work <-chan [2]int64, horizon int64, out chan<- *rowBatch, pool *sync.Pool) error {
	c, err := src.ReadConn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	stmt, err := c.PrepareContext(ctx, queries.Get("store_copy_rows"))
	if err != nil {
		return fmt.Errorf("read samples: %w", err)
	}
	defer stmt.Close()
	tok := nextToken.Add(1)
	s := &sink{ctx: ctx, out: out, pool: pool, b: pool.Get().(*rowBatch)}
	sinks.Store(tok, s)
	defer sinks.Delete(tok)
	for r := range work {
		var n int64
		if err := stmt.QueryRowContext(ctx, tok, r[0], r[1], horizon).Scan(&n); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read samples: %w", err)
		}
	}
	return s.flush()
}
