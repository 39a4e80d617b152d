package grade

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/shipped"
)

// Reset is what a reset did.
type Reset struct {
	Restored []string // stub files put back, relative to the workbook
	Backup   string   // folder holding the replaced files; empty if none
}

// Reset puts a lab's stub files back as shipped. The learner's versions are
// copied first to .grader/backups/NN-name/TIME/, so a reset loses nothing.
// Files the learner added are left alone.
func (g *Grader) Reset(lab *catalog.Lab) (*Reset, error) {
	if lab.Err != nil {
		return nil, lab.Err
	}
	files, err := shipped.Files(g.Workbook, lab)
	if err != nil {
		return nil, fmt.Errorf("cannot reset lab %s: %w", lab.ID(), err)
	}
	res := &Reset{}
	var changed []string
	for _, name := range lab.Stubs {
		want, ok := files[name]
		if !ok {
			return nil, fmt.Errorf("cannot reset lab %s: the shipped copy has no %s", lab.ID(), name)
		}
		have, ok, err := shipped.ReadSource(filepath.Join(lab.Dir, name))
		if err == nil && ok && bytes.Equal(have, want) {
			continue
		}
		changed = append(changed, name)
	}
	if len(changed) == 0 {
		return res, nil
	}
	backup, err := g.backUp(lab, changed)
	if err != nil {
		return nil, fmt.Errorf("cannot reset lab %s: %w", lab.ID(), err)
	}
	res.Backup = backup
	for _, name := range changed {
		if err := renameio.WriteFile(filepath.Join(lab.Dir, name), files[name], 0o644); err != nil {
			return res, fmt.Errorf("reset lab %s: write %s: %w (your version is in %s)", lab.ID(), name, err, res.Backup)
		}
		res.Restored = append(res.Restored, lab.RelDir+"/"+name)
	}
	return res, nil
}

// backUp copies the learner's versions of files into a new folder under
// .grader/backups and returns its path, or "" when none of the files exists.
func (g *Grader) backUp(lab *catalog.Lab, names []string) (string, error) {
	saved := map[string][]byte{}
	for _, name := range names {
		data, ok, err := shipped.ReadSource(filepath.Join(lab.Dir, name))
		if err != nil {
			return "", err
		}
		if !ok {
			continue // deleted, or not a file one can keep
		}
		saved[name] = data
	}
	if len(saved) == 0 {
		return "", nil
	}
	base := filepath.Join(g.Workbook.StateDir(), "backups", lab.Name, g.Now().Format("20060102-150405.000"))
	dir := base
	// A new folder every time: an earlier backup is never written over.
	for i := 2; ; i++ {
		err := os.MkdirAll(filepath.Dir(dir), 0o755)
		if err == nil {
			err = os.Mkdir(dir, 0o755)
		}
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("no place for a backup of your files: %w", err)
		}
		dir = fmt.Sprintf("%s-%d", base, i)
	}
	for name, data := range saved {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return "", fmt.Errorf("back up %s: %w", name, err)
		}
	}
	return g.Workbook.Rel(dir), nil
}
