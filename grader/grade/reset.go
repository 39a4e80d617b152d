package grade

import (
	"bytes"
	"fmt"
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
		have, err := os.ReadFile(filepath.Join(lab.Dir, name))
		if err == nil && bytes.Equal(have, want) {
			continue
		}
		changed = append(changed, name)
	}
	if len(changed) == 0 {
		return res, nil
	}
	backup := filepath.Join(g.Workbook.StateDir(), "backups", lab.Name, g.Now().Format("20060102-150405.000"))
	if err := os.MkdirAll(backup, 0o755); err != nil {
		return nil, fmt.Errorf("cannot reset lab %s: no place for a backup of your files: %w", lab.ID(), err)
	}
	for _, name := range changed {
		data, err := os.ReadFile(filepath.Join(lab.Dir, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot reset lab %s: %w", lab.ID(), err)
		}
		if err := os.WriteFile(filepath.Join(backup, name), data, 0o644); err != nil {
			return nil, fmt.Errorf("cannot reset lab %s: back up %s: %w", lab.ID(), name, err)
		}
	}
	res.Backup = g.Workbook.Rel(backup)
	for _, name := range changed {
		if err := renameio.WriteFile(filepath.Join(lab.Dir, name), files[name], 0o644); err != nil {
			return res, fmt.Errorf("reset lab %s: write %s: %w (your version is in %s)", lab.ID(), name, err, res.Backup)
		}
		res.Restored = append(res.Restored, lab.RelDir+"/"+name)
	}
	return res, nil
}
