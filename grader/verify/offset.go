package verify

import (
	"bytes"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
)

// relocate moves each fragment of f that no longer matches src to the
// nearest place where its old lines do, as patch(1) applies a hunk at an
// offset: a solution that grew a few lines above a fixture's change should
// not break the fixture. It reports whether any fragment moved; the file
// is left as it was when some fragment matches nowhere.
func relocate(f *gitdiff.File, src []byte) (moved bool) {
	lines := splitLines(src)
	positions := make([]int64, len(f.TextFragments))
	from := 0 // fragments apply in order, each below the one before
	for i, frag := range f.TextFragments {
		var old [][]byte
		for _, l := range frag.Lines {
			if l.Op != gitdiff.OpAdd {
				old = append(old, []byte(l.Line))
			}
		}
		want := int(frag.OldPosition) - 1 // 0-based; a pure insertion at 0 gives -1
		if len(old) == 0 || want < 0 {
			positions[i] = frag.OldPosition
			continue
		}
		best := -1
		for at := from; at+len(old) <= len(lines); at++ {
			if matchesAt(lines, old, at) && (best < 0 || abs(at-want) < abs(best-want)) {
				best = at
			}
		}
		if best < 0 {
			return false
		}
		positions[i] = int64(best + 1)
		from = best + len(old)
	}
	for i, frag := range f.TextFragments {
		if shift := positions[i] - frag.OldPosition; shift != 0 {
			frag.OldPosition += shift
			frag.NewPosition += shift
			moved = true
		}
	}
	return moved
}

func splitLines(src []byte) [][]byte {
	var out [][]byte
	for len(src) > 0 {
		i := bytes.IndexByte(src, '\n')
		if i < 0 {
			out = append(out, src)
			break
		}
		out = append(out, src[:i+1])
		src = src[i+1:]
	}
	return out
}

func matchesAt(lines, old [][]byte, at int) bool {
	for j, l := range old {
		if !bytes.Equal(lines[at+j], l) {
			return false
		}
	}
	return true
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
