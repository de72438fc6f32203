//go:build !agentimage

package tlog

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"
)

// tileKey names a tile as of a given width (1..256 leaves). A tile of a given width never changes,
// so cached nodeTiles never go stale; partial widths simply stop being asked for as the log grows.
type tileKey struct {
	level, index uint64
	width        uint16
}

// nodeTile holds every complete node of a tile: rows[0] are its leaves (the tile's hashes),
// rows[k][i] is the root of leaves [i·2^k, (i+1)·2^k).
type nodeTile struct {
	rows [][][]byte
}

// InclusionProof returns the RFC 6962 inclusion proof for the entry at index in the tree of the
// given size, which must not exceed the latest published checkpoint's size.
func (l *Log) InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error) {
	if published := l.pub.Load().cp.Size; size > published || index >= size {
		return nil, fmt.Errorf("tlog: inclusion proof for index %d in tree of size %d (published size %d): %w", index, size, published, ErrOutOfRange)
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("tlog: inclusion proof: %w", err)
	}
	return l.proofHashes(ctx, nodes, size)
}

// ConsistencyProof returns the RFC 6962 consistency proof from the tree of size from to the tree
// of size to; to must not exceed the latest published checkpoint's size. The proof is empty when
// from is 0 or equals to.
func (l *Log) ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error) {
	if published := l.pub.Load().cp.Size; to > published || from > to {
		return nil, fmt.Errorf("tlog: consistency proof from size %d to %d (published size %d): %w", from, to, published, ErrOutOfRange)
	}
	if from == 0 || from == to {
		return [][]byte{}, nil
	}
	nodes, err := proof.Consistency(from, to)
	if err != nil {
		return nil, fmt.Errorf("tlog: consistency proof: %w", err)
	}
	return l.proofHashes(ctx, nodes, to)
}

// proofHashes fetches the nodes a proof names in the tree of the given size and returns fresh
// copies (callers may modify them; the cache must not be).
func (l *Log) proofHashes(ctx context.Context, nodes proof.Nodes, size uint64) ([][]byte, error) {
	hashes := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		h, err := l.node(ctx, id, size)
		if err != nil {
			return nil, fmt.Errorf("tlog: proof: %w", err)
		}
		hashes[i] = h
	}
	hashes, err := nodes.Rehash(hashes, rfc6962.DefaultHasher.HashChildren)
	if err != nil {
		return nil, fmt.Errorf("tlog: proof: %w", err)
	}
	buf := make([]byte, 0, len(hashes)*32)
	out := make([][]byte, len(hashes))
	for i, h := range hashes {
		buf = append(buf, h...)
		out[i] = buf[len(buf)-len(h):]
	}
	return out, nil
}

// node returns the hash of a complete node of the tree of the given size.
func (l *Log) node(ctx context.Context, id compact.NodeID, size uint64) ([]byte, error) {
	tLevel, tIndex, nLevel, nIndex := layout.NodeCoordsToTileAddress(uint64(id.Level), id.Index)
	t, err := l.tile(ctx, tLevel, tIndex, layout.PartialTileSize(tLevel, tIndex, size))
	if err != nil {
		return nil, err
	}
	if int(nLevel) >= len(t.rows) || nIndex >= uint64(len(t.rows[nLevel])) {
		return nil, fmt.Errorf("node %d/%d is not in tile %d/%d", id.Level, id.Index, tLevel, tIndex)
	}
	return t.rows[nLevel][nIndex], nil
}

// tile returns the nodes of tile level/index at partial width p (0 for a full tile), from the
// cache or the disk.
func (l *Log) tile(ctx context.Context, level, index uint64, p uint8) (*nodeTile, error) {
	width := uint16(p)
	if width == 0 {
		width = layout.TileWidth
	}
	key := tileKey{level: level, index: index, width: width}
	if t, ok := l.tiles.Get(key); ok {
		return t, nil
	}
	raw, err := l.readTile(ctx, level, index, p)
	if err != nil {
		return nil, fmt.Errorf("read tile %d/%d.p/%d: %w", level, index, p, err)
	}
	if len(raw)%32 != 0 || len(raw) < int(width)*32 {
		return nil, fmt.Errorf("tile %d/%d.p/%d: %d bytes, want %d", level, index, p, len(raw), int(width)*32)
	}
	t := buildNodeTile(raw[:int(width)*32])
	l.tiles.Add(key, t)
	return t, nil
}

// readTile reads tile level/index at partial width p or any wider version of it: its first p
// hashes are the same. tessera's ReadTile falls back to the full tile once the partial one has been
// garbage collected; a width that no published size ended on was never written, so look for the
// next wider partial tile too.
func (l *Log) readTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
	raw, err := l.reader.ReadTile(ctx, level, index, p)
	if err == nil || p == 0 || !errors.Is(err, fs.ErrNotExist) {
		return raw, err
	}
	partials := filepath.Join(l.dir, filepath.FromSlash(layout.TilePath(level, index, 0))+".p")
	names, dirErr := os.ReadDir(partials)
	best := 0
	for _, d := range names {
		if w, err := strconv.Atoi(d.Name()); err == nil && w > int(p) && w < layout.TileWidth && (best == 0 || w < best) {
			best = w
		}
	}
	if dirErr == nil && best > 0 {
		if raw, err := os.ReadFile(filepath.Join(partials, strconv.Itoa(best))); err == nil {
			return raw, nil
		}
	}
	// Garbage collection may have replaced the partial tiles with the full one meanwhile.
	return l.reader.ReadTile(ctx, level, index, 0)
}

// buildNodeTile hashes a tile's leaves up into all its complete inner nodes (RFC 6962:
// SHA-256(0x01 || left || right)).
func buildNodeTile(leaves []byte) *nodeTile {
	n := len(leaves) / 32
	row := make([][]byte, n)
	for i := range row {
		row[i] = leaves[i*32 : (i+1)*32 : (i+1)*32]
	}
	t := &nodeTile{rows: [][][]byte{row}}
	inner := make([]byte, 0, n*32) // fewer than n inner nodes: never reallocated
	h := sha256.New()
	for len(row) > 1 {
		next := make([][]byte, len(row)/2)
		for i := range next {
			h.Reset()
			h.Write([]byte{rfc6962.RFC6962NodeHashPrefix})
			h.Write(row[2*i])
			h.Write(row[2*i+1])
			inner = h.Sum(inner)
			next[i] = inner[len(inner)-32 : len(inner) : len(inner)]
		}
		t.rows = append(t.rows, next)
		row = next
	}
	return t
}
