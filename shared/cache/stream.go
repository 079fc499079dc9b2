package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/stella-ops/inthub/shared/contracts"
)

// ChunkSize is how many items one stored chunk of a result holds. A fill
// streams its items into chunks as they come and a page decodes only the
// chunks it covers, so neither holds more than a chunk or a page of items
// however large the result (a repository with tens of thousands of tags).
const ChunkSize = 100

// ErrGone is the error of reading a chunk that is no longer stored: the
// result expired or was invalidated while a caller paged through it.
var ErrGone = errors.New("the discovery result is no longer cached")

// Emit hands a fill's items to the cache, any number at a time, in the
// result's order. It keeps no reference to items.
type Emit func(items []contracts.Resource) error

// StreamFillFunc discovers the result of a key on a miss, emitting items as
// it reads them instead of returning them all (see FillFunc for its
// context).
type StreamFillFunc func(ctx context.Context, emit Emit) error

// chunkSink is where a fill's chunks go: kept in memory (the in-process
// cache, an uncached answer) or written to Redis as they fill.
type chunkSink interface {
	// put stores chunk i of up to ChunkSize items; it may keep items (a
	// copy the chunker made) but not what they came from.
	put(ctx context.Context, i int, items []contracts.Resource) error
	// finish sets what an entry needs to read the chunks back.
	finish(e *Entry)
}

// memorySink keeps the chunks as they are: the in-process cache holds the
// result anyway, and decoding a chunk for every page would cost more than
// the encoded form saves (Redis holds them encoded).
type memorySink struct{ chunks [][]contracts.Resource }

func (s *memorySink) put(_ context.Context, _ int, items []contracts.Resource) error {
	s.chunks = append(s.chunks, items)
	return nil
}

func (s *memorySink) finish(e *Entry) {
	chunks := s.chunks
	e.Chunks = len(chunks)
	e.decoded = func(i int) []contracts.Resource { return chunks[i] }
}

// chunker cuts emitted items into chunks of ChunkSize and puts each into
// the sink as soon as it is full.
type chunker struct {
	sink    chunkSink
	pending []contracts.Resource
	total   int
	next    int // index of the next chunk
}

func (c *chunker) emit(ctx context.Context, items []contracts.Resource) error {
	for len(items) > 0 {
		n := min(ChunkSize-len(c.pending), len(items))
		c.pending = append(c.pending, items[:n]...)
		items = items[n:]
		c.total += n
		if len(c.pending) == ChunkSize {
			if err := c.flush(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *chunker) flush(ctx context.Context) error {
	if len(c.pending) == 0 {
		return nil
	}
	if err := c.sink.put(ctx, c.next, slices.Clone(c.pending)); err != nil {
		return err
	}
	c.next++
	clear(c.pending) // drop the references: the chunk holds its own
	c.pending = c.pending[:0]
	return nil
}

// produce runs fill into sink and returns the entry (not yet stamped).
func produce(ctx context.Context, fill StreamFillFunc, sink chunkSink) (Entry, error) {
	c := &chunker{sink: sink, pending: make([]contracts.Resource, 0, ChunkSize)}
	err := fill(ctx, func(items []contracts.Resource) error { return c.emit(ctx, items) })
	if err == nil {
		err = c.flush(ctx)
	}
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Total: c.total}
	sink.finish(&e)
	return e, nil
}

// streamOf adapts a FillFunc (all items at once) to a stream.
func streamOf(fill FillFunc) StreamFillFunc {
	return func(ctx context.Context, emit Emit) error {
		items, err := fill(ctx)
		if err != nil {
			return err
		}
		return emit(items)
	}
}

// Len is the number of items of the result.
func (e Entry) Len() int {
	if e.Chunks == 0 && e.load == nil && e.decoded == nil {
		return len(e.Items)
	}
	return e.Total
}

// chunk decodes chunk i.
func (e Entry) chunk(ctx context.Context, i int) ([]contracts.Resource, error) {
	if e.decoded != nil {
		return e.decoded(i), nil
	}
	if e.load == nil {
		if i != 0 {
			return nil, ErrGone
		}
		return e.Items, nil // an entry of items (the format before chunks)
	}
	raw, err := e.load(ctx, i)
	if err != nil {
		return nil, err
	}
	var items []contracts.Resource
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("decode a discovery result chunk: %w", err)
	}
	return items, nil
}

// chunkCount is the number of chunks to read.
func (e Entry) chunkCount() int {
	if e.load == nil && e.decoded == nil {
		return 1
	}
	return e.Chunks
}

// Range returns up to limit items from offset, decoding only the chunks
// they are in.
func (e Entry) Range(ctx context.Context, offset, limit int) ([]contracts.Resource, error) {
	if e.load == nil && e.decoded == nil {
		end := min(offset+limit, len(e.Items))
		if offset >= end {
			return []contracts.Resource{}, nil
		}
		return append([]contracts.Resource{}, e.Items[offset:end]...), nil
	}
	out := []contracts.Resource{}
	for pos := offset; pos < min(offset+limit, e.Total); {
		items, err := e.chunk(ctx, pos/ChunkSize)
		if err != nil {
			return nil, err
		}
		from := pos % ChunkSize
		n := min(len(items)-from, offset+limit-pos)
		if n <= 0 {
			return nil, fmt.Errorf("discovery result chunk %d holds %d items: %w", pos/ChunkSize, len(items), ErrGone)
		}
		out = append(out, items[from:from+n]...)
		pos += n
	}
	return out, nil
}

// Each calls fn with every item and its position in the result, a chunk at
// a time, until fn returns false.
func (e Entry) Each(ctx context.Context, fn func(pos int, r contracts.Resource) bool) error {
	return e.From(ctx, 0, fn)
}

// From is Each from position offset: it decodes no chunk before offset's,
// and none after fn says stop.
func (e Entry) From(ctx context.Context, offset int, fn func(pos int, r contracts.Resource) bool) error {
	if e.load == nil && e.decoded == nil {
		for pos := offset; pos < len(e.Items); pos++ {
			if !fn(pos, e.Items[pos]) {
				return nil
			}
		}
		return nil
	}
	for i := offset / ChunkSize; i < e.chunkCount(); i++ {
		items, err := e.chunk(ctx, i)
		if err != nil {
			return err
		}
		for j, r := range items {
			pos := i*ChunkSize + j
			if pos < offset {
				continue
			}
			if !fn(pos, r) {
				return nil
			}
		}
	}
	return nil
}

// all decodes every item (Fetch's answer, for results small enough).
func (e Entry) all(ctx context.Context) ([]contracts.Resource, error) {
	items := make([]contracts.Resource, 0, e.Len())
	err := e.Each(ctx, func(_ int, r contracts.Resource) bool { items = append(items, r); return true })
	return items, err
}
